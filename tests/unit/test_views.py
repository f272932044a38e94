"""Views: terraform-like text, colour only when asked, secrets never shown (no I/O)."""

from __future__ import annotations

import json

from regplan.base.errors import Diagnostic
from regplan.base.model import Ref, Target
from regplan.engine.diff import ChangeKind, FieldChange
from regplan.engine.plan import Action, ObjectChange, Plan
from regplan.engine.status import ClaimEvent, ClaimSummary, Condition, StatusSummary
from regplan.present.views import field_line, plan_json, plan_text, status_text, summary_line

CLAIM = Ref("v1", "PersistentVolumeClaim", "ns", "c")
CFG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
SECRET = Ref("v1", "Secret", "ns", "s")


def sample() -> Plan:
    return Plan(
        profile="p",
        target=Target.OCP4,
        values_digest="sha256:x",
        source="snap.yaml",
        changes=[
            ObjectChange(
                SECRET,
                Action.UPDATE,
                "fields differ",
                fields=(
                    FieldChange(
                        ("data", "K"), ChangeKind.CHANGED, "sha256:aaa", "sha256:bbb", sensitive=True
                    ),
                ),
            ),
            ObjectChange(
                CLAIM,
                Action.REPLACE,
                "spec.accessModes is immutable; data on the claim is lost",
                True,
                (
                    FieldChange(
                        ("spec", "accessModes"), ChangeKind.CHANGED, ["ReadWriteMany"], ["ReadWriteOnce"]
                    ),
                ),
            ),
            ObjectChange(
                CFG,
                Action.UPDATE,
                "fields differ",
                fields=(
                    FieldChange(("spec", "storage", "s3"), ChangeKind.REMOVED, {"bucket": "b"}, None),
                    FieldChange(("spec", "storage", "pvc"), ChangeKind.ADDED, None, {"claim": "c"}),
                ),
            ),
        ],
        diagnostics=[Diagnostic("k", "claim is Pending: ProvisioningFailed: boom", severity="warning")],
    )


def test_text_plan_has_glyphs_paths_and_summary() -> None:
    text = plan_text(sample())
    assert "-/+ PersistentVolumeClaim/ns/c" in text
    assert "# spec.accessModes is immutable; data on the claim is lost" in text
    assert "DESTRUCTIVE" in text
    assert '~ spec.accessModes: ["ReadWriteMany"] -> ["ReadWriteOnce"]' in text
    assert '- spec.storage.s3: {"bucket": "b"} -> (removed)' in text
    assert '+ spec.storage.pvc: {"claim": "c"}' in text
    assert "warning: k: claim is Pending: ProvisioningFailed: boom" in text
    assert text.rstrip().endswith(
        "Plan: 0 to create, 2 to update, 1 to replace (1 destructive), 0 blocked.\n"
        "Server dry run: not checked by a server-side dry run."
    )
    assert "\x1b[" not in text


def test_secret_changes_show_no_value_not_even_a_digest() -> None:
    text = plan_text(sample())
    assert "data.K: (value changed)" in text
    assert "sha256:aaa" not in text and "sha256:bbb" not in text
    added = FieldChange(("data", "K"), ChangeKind.ADDED, None, "sha256:ccc", sensitive=True)
    assert field_line(added, False).endswith("data.K: (sensitive value)")


def test_colour_only_when_asked() -> None:
    assert "\x1b[31m-/+\x1b[0m" in plan_text(sample(), color=True)


def test_no_changes_says_so() -> None:
    plan = Plan(
        profile="p",
        target=Target.OCP4,
        values_digest="",
        source="s",
        changes=[ObjectChange(CFG, Action.NOOP)],
    )
    text = plan_text(plan)
    assert "= Config/cluster  no changes" in text
    assert "No changes" in text
    assert summary_line(plan) == "Plan: 0 to create, 0 to update, 0 to replace (0 destructive), 0 blocked."


def test_json_plan_is_versioned_and_counts() -> None:
    doc = json.loads(plan_json(sample()))
    assert doc["formatVersion"] == 1
    assert doc["summary"] == {
        "create": 0,
        "update": 2,
        "replace": 1,
        "destructive": 1,
        "noop": 0,
        "blocked": 0,
        "errors": 0,
        "warnings": 1,
    }
    assert doc["changes"][0]["fields"][0] == {
        "path": "data.K",
        "change": "changed",
        "sensitive": True,
        "segments": ["data", "K"],
    }


def test_status_text_lists_backend_claim_events_and_match() -> None:
    text = status_text(
        StatusSummary(
            target=Target.OCP4,
            source="s",
            backend="pvc",
            settings={"claim": "c"},
            replicas=1,
            rollout_strategy="Recreate",
            claim=ClaimSummary(
                "ns",
                "c",
                phase="Pending",
                requested="100Gi",
                access_modes=("ReadWriteMany",),
                storage_class="gp2",
                events=(ClaimEvent("Warning", "ProvisioningFailed", "m"),),
            ),
            conditions=[Condition("Available", "True", "Ready", "")],
        )
    )
    assert "Backend:   pvc" in text and "phase: Pending" in text
    assert "Warning ProvisioningFailed: m" in text
    assert "Available=True (Ready)" in text
    assert "matches no profile" in text


def test_long_removed_map_is_listed_leaf_by_leaf() -> None:
    s3 = {
        "bucket": "a-rather-long-generated-bucket-name-for-the-registry",
        "region": "us-east-1",
        "encrypt": True,
    }
    plan = Plan(
        profile="p",
        target=Target.OCP4,
        values_digest="",
        source="s",
        changes=[
            ObjectChange(
                CFG, Action.UPDATE, fields=(FieldChange(("spec", "storage", "s3"), ChangeKind.REMOVED, s3),)
            )
        ],
    )
    text = plan_text(plan)
    assert (
        '- spec.storage.s3.bucket: "a-rather-long-generated-bucket-name-for-the-registry" -> (removed)'
        in text
    )
    assert "- spec.storage.s3.encrypt: true -> (removed)" in text


def test_markdown_of_a_hostile_plan_keeps_its_structure() -> None:
    """Names, reasons and diagnostics (which quote the cluster) cannot add markup, HTML, table cells or close
    the folded full plan: one rule, regplan.base.escape's markdown rule, for every string of the plan."""
    import dataclasses

    from markdown_it import MarkdownIt

    from regplan.present.views import plan_markdown

    plan = sample()
    evil = "```\n</details>\n<img src=https://evil.example/p.png> | [x](https://evil) `` ` ``"
    plan.changes[1] = dataclasses.replace(plan.changes[1], reason=evil)
    plan.diagnostics.append(Diagnostic("claim", "ProvisioningFailed: " + evil, severity="warning"))
    md = plan_markdown(plan)
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<details>") == 1 and html.count("</details>") == 1
    assert "<img" not in html and 'href="https://evil' not in html
    assert all(row.count("<td>") == 4 for row in html.split("<tr>")[2:])
    assert "&lt;/details&gt;" in html.split("<details>", 1)[1]  # the message is still shown, as text
