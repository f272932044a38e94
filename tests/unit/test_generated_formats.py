"""Hostile input through every generator, end to end: the `-o oc` scripts run under bash against
tests/unit/fake_oc.py, the inventory read by Ansible's INI rule, `-o markdown` read by a CommonMark
parser, and what `regplan` prints with a cluster's Event message full of escape sequences.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt
from test_escape import ansible_reads
from test_oc_scripts import run_script

from regplan.base import escape, normalize
from regplan.base.errors import InvalidInput
from regplan.base.model import Target
from regplan.cli import commands
from regplan.core import render, values
from regplan.present import inventory, output

ROOT = Path(__file__).resolve().parents[2]
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def rendered(
    profile: str, *sets: str, target: Target = Target.OCP4, env: dict[str, str] | None = None
) -> Any:
    vals = values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=env or {})
    return render.render(vals, target)


def s3_sets(ak: str = "env:AK", sk: str = "env:SK") -> list[str]:
    return ["s3.bucket=acme-reg", "s3.region=eu-west-1", f"s3.accessKeyFrom={ak}", f"s3.secretKeyFrom={sk}"]


# --- the -o oc scripts: keys -------------------------------------------------------------------------------

HOSTILE_KEYS = ['a"b', "back\\slash\\", 'x": y\nz: "', "$(id)`id`$HOME", "it's #1", "café-ключ"]


@needs_bash
@pytest.mark.parametrize("key", [k for k in HOSTILE_KEYS if "\n" not in k])
def test_ocp3_config_yml_holds_any_key_exactly(key: str, tmp_path: Path) -> None:
    """The 3.x script builds config.yml with the key YAML-escaped: `"` or `\\` cannot end the string."""
    env = {"AK": key, "SK": "sk-" + key}
    text = output.format_rendered(rendered("aws-s3", *s3_sets(), target=Target.OCP3, env=env), "oc")
    assert key not in text
    code, state, err = run_script(text, tmp_path, env=env)
    assert code == 0, err
    cfg = yaml.safe_load(
        base64.b64decode(state["objects"]["Secret/default/registry-config"]["data"]["config.yml"])
    )
    assert cfg["storage"]["s3"]["accesskey"] == key and cfg["storage"]["s3"]["secretkey"] == "sk-" + key


@needs_bash
@pytest.mark.parametrize("target", [Target.OCP4, Target.OCP3])
@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_file_keys_are_stripped_as_render_strips_them(target: Target, ending: str, tmp_path: Path) -> None:
    """One trailing line ending of a key file is not part of the key: render, the 4.x and the 3.x script
    agree (4.x used to pass the file as it is: the Secret's keys ended in a newline)."""
    (tmp_path / "ak").write_text("AKIDFILEKEY" + ending)
    (tmp_path / "sk").write_text("secret/file+key" + ending)
    r = rendered("aws-s3", *s3_sets(f"file:{tmp_path / 'ak'}", f"file:{tmp_path / 'sk'}"), target=target)
    from_render = {o["kind"]: o for o in r.objects}["Secret"]["data"]
    code, state, err = run_script(output.format_rendered(r, "oc"), tmp_path)
    assert code == 0, err
    secret = next(o for o in state["objects"].values() if o["kind"] == "Secret")
    if target is Target.OCP4:
        assert secret["data"] == from_render
        assert base64.b64decode(secret["data"]["REGISTRY_STORAGE_S3_ACCESSKEY"]) == b"AKIDFILEKEY"
    else:
        cfg = yaml.safe_load(base64.b64decode(secret["data"]["config.yml"]))
        assert (cfg["storage"]["s3"]["accesskey"], cfg["storage"]["s3"]["secretkey"]) == (
            "AKIDFILEKEY",
            "secret/file+key",
        )


@needs_bash
@pytest.mark.parametrize("target", [Target.OCP4, Target.OCP3])
def test_keys_never_reach_a_command_line(target: Target, tmp_path: Path) -> None:
    """Every oc call's argv is logged by the fake oc: no key may be in one (ps shows them)."""
    env = {"AK": "AKID-ON-NO-CMDLINE", "SK": "SECRET-ON-NO-CMDLINE"}
    text = output.format_rendered(rendered("aws-s3", *s3_sets(), target=target, env=env), "oc")
    assert "--from-literal" not in text
    code, _, err = run_script(text, tmp_path, env=env)
    assert code == 0, err
    log = (tmp_path / "state.json.log").read_text()
    assert "create secret generic" in log
    assert "AKID-ON-NO-CMDLINE" not in log and "SECRET-ON-NO-CMDLINE" not in log


@needs_bash
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("two\nlines", "line break or control character"),
        ("esc\x1b[2J", "line break or control character"),
        ("sep\u2028x", "line break or control character"),
        (" padded", "blanks"),
        ("", "is empty"),
    ],
)
def test_script_refuses_a_bad_key_before_writing(value: str, says: str, tmp_path: Path) -> None:
    """The environment the script runs in is not the one render saw: it checks the key again, by the same
    rule, and stops with exit 3 before any oc call, naming the source, never the value."""
    good = {"AK": "AKIDGOOD", "SK": "good-secret"}
    text = output.format_rendered(rendered("aws-s3", *s3_sets(), env=good), "oc")
    code, _, err = run_script(text, tmp_path, env={**good, "AK": value})
    assert code == 3 and says in err and "env:AK" in err
    assert not (tmp_path / "state.json.log").exists()  # no oc call at all


@needs_bash
def test_unset_variable_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "sk").write_text("k\n")
    env = {"AK": "AKIDGOOD"}
    text = output.format_rendered(
        rendered("aws-s3", *s3_sets("env:AK", f"file:{tmp_path / 'sk'}"), env=env), "oc"
    )
    environ = {k: v for k, v in os.environ.items() if k != "AK"}
    p = subprocess.run(["bash", "-c", text], capture_output=True, text=True, env=environ, timeout=60)
    assert p.returncode == 3 and "env:AK: the environment variable is not set" in p.stderr
    (tmp_path / "sk").unlink()
    code, _, err = run_script(text, tmp_path, env=env)
    assert code == 3 and "not a readable file" in err


@needs_bash
def test_heredoc_delimiter_is_no_line_of_its_text() -> None:
    text = "a\nEOF\nrm -rf /\nEOF_1\n"
    doc = output._heredoc(text, expand=False)
    out = subprocess.run(["bash", "-c", "cat " + doc], capture_output=True, text=True, check=True)
    assert out.stdout == text


def test_a_source_that_is_not_a_variable_name_is_refused() -> None:
    r = rendered("aws-s3", *s3_sets(), env={"AK": "a", "SK": "b"})
    bad = {k: v for k, v in r.values.secrets.items()}
    key = "s3.accessKey"
    bad[key] = values.SecretValue(key, "env:AK}$(id)", "a")
    r.values.secrets = bad
    with pytest.raises(InvalidInput, match="not a valid environment variable name"):
        output.format_rendered(r, "oc")


# --- the -o oc scripts: a claim that must be replaced ------------------------------------------------------

LIVE_RWX = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "image-registry-storage", "namespace": "openshift-image-registry"},
    "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "gp2"},
}


def seeded(tmp_path: Path, claim: dict[str, Any]) -> None:
    import json

    key = f"PersistentVolumeClaim/{claim['metadata']['namespace']}/{claim['metadata']['name']}"
    (tmp_path / "state.json").write_text(json.dumps({"objects": {key: claim}}))


@needs_bash
@pytest.mark.parametrize(
    ("status", "volume", "says"),
    [
        ({"phase": "Pending"}, None, "never bound (Pending, no volume): no data exists on it"),
        ({"phase": "Bound"}, "pvc-123", "DESTRUCTIVE: it is Bound on volume pvc-123"),
    ],
)
def test_live_rwx_claim_stops_the_4x_script_before_any_write(
    status: dict[str, str], volume: str | None, says: str, tmp_path: Path
) -> None:
    """The README's headline case: the live claim is ReadWriteMany, the profile wants ReadWriteOnce. `oc
    apply` cannot change it: the script stops with 6 before writing, and says whether data is lost."""
    claim = {**LIVE_RWX, "status": status, "spec": {**LIVE_RWX["spec"], "volumeName": volume}}
    seeded(tmp_path, claim)
    script = (ROOT / "golden/render/ebs-gp2-rwo/ocp4/default.oc.sh").read_text()
    code, state, err = run_script(script, tmp_path)
    assert code == 6, err
    assert says in err and "REGPLAN_ALLOW_REPLACE=1" in err and "Nothing was changed" in err
    calls = (tmp_path / "state.json.log").read_text().splitlines()
    assert all(" get pvc " in c for c in calls)  # only the check ran
    assert "config" not in state and state["objects"][next(iter(state["objects"]))]["spec"][
        "accessModes"
    ] == ["ReadWriteMany"]


@needs_bash
def test_allow_replace_deletes_then_creates_and_runs_to_the_end(tmp_path: Path) -> None:
    seeded(tmp_path, {**LIVE_RWX, "status": {"phase": "Pending"}})
    script = (ROOT / "golden/render/ebs-gp2-rwo/ocp4/default.oc.sh").read_text()
    code, state, err = run_script(script, tmp_path, env={"REGPLAN_ALLOW_REPLACE": "1"})
    assert code == 0, err
    assert "Replacing it (REGPLAN_ALLOW_REPLACE=1)" in err and "no data exists on it" in err
    claim = state["objects"]["PersistentVolumeClaim/openshift-image-registry/image-registry-storage"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert state["config"]["spec"]["storage"]["pvc"] == {"claim": "image-registry-storage"}
    calls = (tmp_path / "state.json.log").read_text().splitlines()
    # the Config names the claim before the delete (the operator recreates a deleted claim only for "")
    assert [c.split()[0 if c.startswith("patch") else 2] for c in calls[:4]] == [
        "get",
        "patch",
        "delete",
        "apply",
    ]
    code, _, err = run_script(script, tmp_path)  # the claim matches now: a plain re-run, no replace
    assert code == 0, err


@needs_bash
def test_a_matching_live_claim_is_kept(tmp_path: Path) -> None:
    seeded(tmp_path, {**LIVE_RWX, "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp2"}})
    script = (ROOT / "golden/render/ebs-gp2-rwo/ocp4/default.oc.sh").read_text()
    code, _, err = run_script(script, tmp_path)
    assert code == 0, err
    assert "delete" not in (tmp_path / "state.json.log").read_text()


# --- headers -------------------------------------------------------------------------------------------


@needs_bash
def test_headers_name_the_inputs_safely(tmp_path: Path) -> None:
    values_file = tmp_path / "my values\n$(id).yaml"
    values_file.write_text("claim:\n  size: 200Gi\n")
    opts = commands.RenderOptions(
        values=commands.ValueOptions(
            profile="ebs-gp2-rwo", values_files=(values_file,), sets=("replicas=1",)
        ),
        target="ocp3",
        output="oc",
    )
    for fmt in ("oc", "inventory"):
        out: list[str] = []
        commands.render(
            commands.RenderOptions(values=opts.values, target="ocp3", output=fmt),
            reporter=commands.Reporter(out=out.append, err=out.append),
        )
        text = "".join(out)
        first = text.splitlines()[1 if fmt == "oc" else 0]
        assert first.startswith("# regplan render -p ebs-gp2-rwo --target ocp3 -o " + fmt)
        assert "--set replicas=1" in first and "-f $'" in first and "\\x0a" in first  # one line, quoted
        if fmt == "oc":
            assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0


def test_headers_never_show_a_secret_value() -> None:
    r = rendered("ebs-gp2-rwo")
    text = output.format_rendered(r, "oc", inputs=normalize.input_words([], ["s3.secretKey=TOPSECRET"]))
    assert "TOPSECRET" not in text and "s3.secretKey=(hidden)" in text


# --- inventory -----------------------------------------------------------------------------------------


def inv(data: dict[str, Any], backend: str) -> str:
    return inventory.render_inventory(target=Target.OCP3, profile="p", data=data, backend=backend)


@pytest.mark.parametrize(
    "value",
    ["k\n[OSEv3:children]\nevil", "k\r[x:vars]", "k\u2028openshift_hosted_registry_storage_kind=nfs",
     "k\x85x",
     "{{ lookup('pipe', 'id') }}", "{% raw %}", "{# x #}", "k\x1b]0;t\x07"],
)  # fmt: skip
def test_inventory_refuses_values_that_add_structure_or_templates(value: str) -> None:
    data = {"s3": {"bucket": "acme-reg", "region": "eu-west-1", "keyID": value}}
    with pytest.raises(InvalidInput, match="openshift_hosted_registry_storage_s3_kmskeyid"):
        inv(data, "s3")
    claim = {
        "claim": {"name": "registry", "size": "10Gi", "storageClass": value, "accessMode": "ReadWriteOnce"}
    }
    with pytest.raises(InvalidInput, match="storageclass"):
        inv(claim, "pvc")


def test_inventory_values_read_back_one_key_each() -> None:
    data = {
        "s3": {
            "bucket": "acme-reg",
            "region": "True",
            "regionEndpoint": "https://s3.example.com/#x",
            "keyID": "12",
        }
    }
    text = inv(data, "s3")
    section = text.split("[OSEv3:vars]\n", 1)[1]
    got = dict(ansible_reads(line) for line in section.splitlines() if line and line[0] not in "#;")
    assert got["openshift_hosted_registry_storage_s3_region"] == "True"  # a string, not a bool
    assert got["openshift_hosted_registry_storage_s3_kmskeyid"] == "12"
    assert got["openshift_hosted_registry_storage_s3_regionendpoint"] == "https://s3.example.com/#x"
    assert not re.search(r"^\[", section, re.M)  # no section but the one regplan wrote


@pytest.mark.parametrize("profile", ["ebs-gp2-rwo", "cephfs-rwx"])
def test_claim_profiles_run_the_playbook_that_creates_the_claim(profile: str) -> None:
    text = inventory.for_rendered(rendered(profile, target=Target.OCP3))
    assert "ansible-playbook -i <inventory> playbooks/openshift-hosted/config.yml\n" in text
    assert (
        "openshift_persistent_volumes" in text
        and "deploy_registry.yml alone would NOT create the claim" in text
    )


# --- markdown and the terminal ---------------------------------------------------------------------------

EVIL = (
    "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07\x9b31m\u202eexe.txt ``` </details> "
    "<img src=https://evil.example/x.png> [x](https://evil)"
)


def hostile_snapshot(tmp_path: Path) -> Path:
    text = (ROOT / "examples/snapshots/ocp4-pvc-pending.yaml").read_text()
    doc = yaml.safe_load(text)
    for item in doc["items"]:
        if item["kind"] == "Event":
            item["message"] = item["message"] + " " + EVIL
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=False))
    return path


def regplan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "regplan", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)  # fmt: skip


def test_event_messages_reach_the_terminal_shown_not_sent(tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    for args in (("status", "--snapshot", str(snap)), ("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(snap))):
        p = regplan(*args, cwd=tmp_path)
        assert p.returncode in (0, 2), p.stderr
        assert "pwned" in p.stdout  # the message is there ...
        for text in (p.stdout, p.stderr):
            assert escape.UNSAFE.search(text) is None  # ... with no escape sequence, C1 or bidi control
        assert "\\u001b]0;pwned\\u0007" in p.stdout


def test_markdown_comment_keeps_its_structure(tmp_path: Path) -> None:
    snap = hostile_snapshot(tmp_path)
    p = regplan("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(snap), "--out", "plan.json", cwd=tmp_path)
    assert p.returncode in (0, 2), p.stderr
    md = regplan("show", "plan.json", "-o", "markdown", cwd=tmp_path)
    assert md.returncode == 0, md.stderr
    assert escape.UNSAFE.search(md.stdout) is None
    html = MarkdownIt("commonmark").enable("table").render(md.stdout)
    assert html.count("<details>") == 1 and html.count("</details>") == 1
    assert "<img" not in html and 'href="https://evil' not in html
    assert "&lt;/details&gt;" in html  # the message is in the comment, as text


def _mention_everywhere(doc: Any) -> None:
    """Every message of a snapshot (Event, condition) starts with mentions and references."""
    from test_escape import MENTIONS

    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "message" and isinstance(value, str):
                doc[key] = f"{MENTIONS} {value}"
            else:
                _mention_everywhere(value)
    elif isinstance(doc, list):
        for item in doc:
            _mention_everywhere(item)


def test_markdown_comments_notify_no_one(tmp_path: Path) -> None:
    """Mentions (``@alice``, ``@org/team``) and references (``#123``, ``!7``) in Event and condition messages
    reach the `-o markdown` comment as text that GitHub and GitLab link to no one, through the one cluster
    plan, `show` and the workspace plan; the messages are there (the test would see them)."""
    from test_escape import live_refs

    doc = yaml.safe_load((ROOT / "examples/snapshots/ocp4-pvc-pending.yaml").read_text())
    _mention_everywhere(doc)
    (tmp_path / "snap.yaml").write_text(yaml.safe_dump(doc))
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples/fleet", ws)
    for snap in (ws / "snapshots").glob("*.yaml"):
        doc = yaml.safe_load(snap.read_text())
        _mention_everywhere(doc)
        snap.write_text(yaml.safe_dump(doc))
    runs = [
        (("plan", "-p", "ebs-gp2-rwo", "--snapshot", "snap.yaml", "-o", "markdown", "--out", "p"), tmp_path),
        (("show", "p", "-o", "markdown"), tmp_path),
        (("plan", "--snapshot-dir", "snapshots", "-o", "markdown"), ws),
    ]
    for args, cwd in runs:
        p = regplan(*args, cwd=cwd)
        assert p.returncode in (0, 2), p.stderr
        assert "@alice" in p.stdout.replace(escape.REF_BREAK, "")  # the messages are in the comment
        html = MarkdownIt("commonmark").enable("table").render(p.stdout)
        assert live_refs(html) == [], args
    from regplan.base.errors import ExitCode
    from regplan.present import fleetviews

    # an error a cluster answered (its text quoted in the summary table and the folded section)
    error = "@org/team: see #12, !3"
    failed = fleetviews.Outcome(
        name="a", context="c", profile="p", target="ocp4", code=ExitCode.CLUSTER, error=error
    )
    md = fleetviews.plan_markdown([failed], ExitCode.CLUSTER)
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert live_refs(html) == [] and "see #" in html


def test_fleet_markdown_keeps_its_structure() -> None:
    from regplan.base.errors import ExitCode
    from regplan.present import fleetviews

    outcomes = [
        fleetviews.Outcome(name="a</summary></details><img src=x>", context="c", profile="p`|x",
                           target="ocp4", code=ExitCode.CLUSTER,
                           error="```\n</details>\n<script>alert(1)</script> | [x](y)"),
        fleetviews.Outcome(name="b", context="c", profile="p", target="ocp4"),
    ]  # fmt: skip
    md = fleetviews.plan_markdown(outcomes, ExitCode.CLUSTER)
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert html.count("<details>") == 2 and html.count("</details>") == 2
    assert "<img" not in html and "<script" not in html and 'href="y"' not in html
    assert all(row.count("<td>") == len(fleetviews.PLAN_HEADER) for row in html.split("<tr>")[2:])


def test_reporter_is_the_one_place_and_keeps_colour() -> None:
    out: list[str] = []
    rep = commands.Reporter(out=out.append, err=out.append, color=True)
    rep.out("\x1b[31m-/+\x1b[0m " + EVIL + "\n")
    rep.warn("bad \x1b]52;c;eA==\x07")
    assert out[0].startswith("\x1b[31m-/+\x1b[0m ") and escape.UNSAFE.search(out[0][11:]) is None
    assert "\x1b" not in out[1]


# --- what the generated objects and messages say -----------------------------------------------------------


@pytest.mark.parametrize(("target", "annotated"), [(Target.OCP4, True), (Target.OCP3, False)])
def test_only_the_4x_claim_carries_the_operator_adoption_annotation(target: Target, annotated: bool) -> None:
    """3.x has no operator: its claim of the same name gets no adoption annotation (nor the reason)."""
    claim = next(
        o for o in rendered("ebs-gp2-rwo", target=target).objects if o["kind"] == "PersistentVolumeClaim"
    )
    assert claim["metadata"]["name"] == "image-registry-storage"
    assert ("imageregistry.openshift.io" in (claim["metadata"].get("annotations") or {})) is annotated


def test_messages_cite_the_users_domain_file() -> None:
    """Users have docs/domain.md, not the team's DOMAIN.md; and the rule numbers cited exist there."""
    cited: set[str] = set()
    for folder in ("regplan", "templates", "profiles"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".j2", ".yaml"):
                text = path.read_text()
                assert "DOMAIN.md" not in text, path
                cited |= set(re.findall(r"docs/domain\.md rules? (\d)", text))
    domain = (ROOT / "docs/domain.md").read_text()
    rules = domain.split("## Rules regplan enforces", 1)[1]
    assert cited and all(re.search(rf"^{n}\. ", rules, re.M) for n in cited)


@needs_bash
def test_a_failed_claim_read_stops_the_script(tmp_path: Path) -> None:
    """`set -e` does not reach into a command substitution: the check fails loudly, not as "no claim"."""
    script = (ROOT / "golden/render/ebs-gp2-rwo/ocp4/default.oc.sh").read_text()
    code, _, err = run_script(script, tmp_path, fail="get pvc")
    assert code == 4 and "cannot read claim openshift-image-registry/image-registry-storage" in err
    calls = (tmp_path / "state.json.log").read_text().splitlines()
    assert len(calls) == 1  # nothing after the failed read


@needs_bash
@pytest.mark.parametrize(
    "key_id", ['k"e\\y$(id)`id`', "alias/it's #1: {x}", "arn:aws:kms:eu-west-1:1:key/a-b"]
)
def test_ocp3_config_yml_holds_plain_values_exactly_or_refuses_them(key_id: str, tmp_path: Path) -> None:
    """Not only the keys: every value of config.yml reads back exactly after the heredoc (or is refused)."""
    env = {"AK": "a", "SK": "b"}
    sets = [*s3_sets(), "s3.encrypt=true"]
    vals = values.load_values(
        "aws-s3", files=[], sets=sets, set_strings=[f"s3.keyID={key_id}"], profiles_dir=None, environ=env
    )
    try:
        text = output.format_rendered(render.render(vals, Target.OCP3), "oc")
    except InvalidInput:
        return  # refused with exit 3: as good as exact
    code, state, err = run_script(text, tmp_path, env=env)
    assert code == 0, err
    cfg = yaml.safe_load(
        base64.b64decode(state["objects"]["Secret/default/registry-config"]["data"]["config.yml"])
    )
    assert cfg["storage"]["s3"]["keyid"] == key_id


@needs_bash
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_script_refuses_a_key_source_that_is_not_a_regular_file(kind: str, tmp_path: Path) -> None:
    """The script never blocks on a FIFO nor reads a directory: refused with 3 before any oc call."""
    (tmp_path / "ak").write_text("AKIDGOOD\n")
    (tmp_path / "sk").write_text("good-secret\n")
    r = rendered("aws-s3", *s3_sets(f"file:{tmp_path / 'ak'}", f"file:{tmp_path / 'sk'}"))
    text = output.format_rendered(r, "oc")
    (tmp_path / "sk").unlink()
    if kind == "fifo":
        os.mkfifo(tmp_path / "sk")
    else:
        (tmp_path / "sk").mkdir()
    code, _, err = run_script(text, tmp_path)
    assert code == 3 and "not a readable file" in err
    assert not (tmp_path / "state.json.log").exists()
