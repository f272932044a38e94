"""One secret-name table, one redaction, every channel: the same secret-looking names and values (AWS,
Azure, GCS, Swift; in env lists and in config.yml nested lists) fed to plan text, JSON and YAML, the
markdown view, status, a snapshot, a saved plan shown again, and the errors of a hand-edited plan file.
No value may come out of any of them (issue 16: fleetfiles and status each had their own table, and an
Azure account key in env reached a snapshot meant for git)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan.base import normalize
from regplan.base.errors import InvalidInput, RegplanError
from regplan.cli import commands
from regplan.engine import recording, snapshot

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "examples" / "snapshots" / "ocp3-emptydir.yaml"

AWS = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AZURE = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
SWIFT = "swift-p4ssw0rd-EXAMPLE-0123"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----\n"
)
GCS = json.dumps({"type": "service_account", "private_key_id": "k1", "private_key": PEM})
VALUES = (AWS, AZURE, SWIFT, PEM, GCS)
# What must not appear: each value, its base64, and a piece of each long enough to be recognised.
NEEDLES = [
    *VALUES,
    *(base64.b64encode(v.encode()).decode() for v in VALUES),
    AWS[:12],
    AZURE[:12],
    SWIFT[:12],
    "MIIEvQIBADAN",
]

# Env of the 3.x registry (a DC may carry keys inline), one per provider style, plus one whose NAME says
# nothing but whose value is a GCS key file.
SECRET_ENV = [
    {"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": AWS},
    {"name": "REGISTRY_STORAGE_S3_ACCESSKEY_ID", "value": AWS},
    {"name": "REGISTRY_STORAGE_AZURE_ACCOUNTKEY", "value": AZURE},
    {"name": "REGISTRY_STORAGE_SWIFT_PASSWORD", "value": SWIFT},
    {"name": "REGISTRY_STORAGE_GCS_KEYFILE", "value": GCS},
    {"name": "GOOGLE_APPLICATION_JSON", "value": GCS},
    # named by words the message patterns knew but the env table did not (outside check, issue 16)
    {"name": "MY_PASSWD", "value": SWIFT},
    {"name": "SWIFT_AUTH_PW", "value": SWIFT},
]
# A config.yml with credentials at every depth, in mappings and in lists.
CONFIG = {
    "version": 0.1,
    "storage": {
        "swift": {
            "authurl": "https://keystone.example:5000/v3",
            "username": "registry",
            "password": SWIFT,
            "tempurlcontainerkey": SWIFT,
            "endpoints": [{"region": "r1", "secretkey": AWS}, {"region": "r2", "accountkey": AZURE}],
            "container": "registry",
        }
    },
    "middleware": {"storage": [{"name": "cloudfront", "options": {"privatekey": PEM, "keypairid": "K"}}]},
    "extra": [[{"credentials": {"private_key": PEM}}], GCS],
    "notifications": {"endpoints": [{"name": "hook", "headers": {"Authorization": [f"Bearer {AWS}"]}}]},
}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def hostile_snapshot(tmp_path: Path) -> Path:
    """The 3.x example with the secrets in the DC's env and in a mounted registry config Secret."""
    docs = yaml.safe_load(BASE.read_text())
    dc = next(o for o in docs["items"] if o["kind"] == "DeploymentConfig")
    pod = dc["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container["env"] += [
        *SECRET_ENV,
        {"name": "REGISTRY_CONFIGURATION_PATH", "value": "/etc/registryconfig/config.yml"},
    ]
    container["volumeMounts"].append({"name": "registry-config", "mountPath": "/etc/registryconfig"})
    pod["volumes"].append({"name": "registry-config", "secret": {"secretName": "registry-config"}})
    docs["items"].append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "registry-config",
                "namespace": "default",
                "uid": "u-1",
                "resourceVersion": "7",
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps({"k": AWS})},
            },
            "data": {"config.yml": b64(yaml.safe_dump(CONFIG)), "azure-key": b64(AZURE)},
        }
    )
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(docs))
    return path


def run(fn: Any, options: Any) -> tuple[str, str, int | str]:
    out: list[str] = []
    err: list[str] = []
    reporter = commands.Reporter(out=out.append, err=err.append)
    try:
        code: int | str = int(
            fn(options, reporter=reporter)
            if fn is commands.show
            else fn(options, reporter=reporter, environ={})
        )
    except RegplanError as e:
        code, err = str(e), [*err, str(e)]
    return "".join(out), "".join(err), code


def leaks(text: str) -> list[str]:
    return [n[:16] for n in NEEDLES if n in text]


def test_no_secret_value_leaves_any_channel(tmp_path: Path) -> None:
    live = hostile_snapshot(tmp_path)
    values = commands.ValueOptions(profile="glusterfs")
    channels: dict[str, str] = {}
    # plan: text, JSON, YAML, and the saved file
    for fmt in commands.PLAN_OUTPUTS:
        out, err, code = run(
            commands.plan,
            commands.PlanOptions(
                values=values,
                snapshot=live,
                output=fmt,
                out=tmp_path / "plan.json" if fmt == "json" else None,
            ),
        )
        assert code == 0, err
        channels[f"plan -o {fmt}"] = out + err
    saved = (tmp_path / "plan.json").read_text()
    channels["plan file"] = saved
    assert "REGISTRY_STORAGE_AZURE_ACCOUNTKEY" in channels["plan -o text"]  # the env var is shown removed ...
    # show: text, JSON, markdown (the pull-request comment)
    for fmt in commands.SHOW_OUTPUTS:
        out, err, code = run(commands.show, commands.ShowOptions(planfile=tmp_path / "plan.json", output=fmt))
        assert code == 0, err
        channels[f"show -o {fmt}"] = out + err
    # status: text, JSON
    for fmt in ("text", "json"):
        out, err, code = run(commands.status, commands.StatusOptions(snapshot=live, output=fmt))
        assert code == 0, err
        channels[f"status -o {fmt}"] = out + err
    assert "REGISTRY_STORAGE_AZURE_ACCOUNTKEY=(redacted)" in channels["status -o text"]
    assert '"password": "(redacted)"' in channels["status -o json"]  # the config's structure stays
    # a snapshot recorded from this state (what goes to git)
    objects = snapshot.read_objects(live)
    channels["snapshot"] = recording.snapshot_text(
        [recording.redact(o) for o in objects], "header", [snapshot.Ref("v1", "Secret", "default", "x")]
    )
    decoded = [
        base64.b64decode(v).decode()
        for o in yaml.safe_load(channels["snapshot"])["items"]
        if o["kind"] == "Secret"
        for v in o["data"].values()
    ]
    channels["snapshot, Secret data decoded"] = "\n".join(decoded)
    assert "keypairid: K" in channels["snapshot, Secret data decoded"]
    # the same cluster in a workspace: the fleet views (summary, text, markdown comment, JSON) and status
    ws = tmp_path / "ws"
    (ws / "snapshots").mkdir(parents=True)
    (ws / "snapshots" / "legacy.yaml").write_text(live.read_text())
    (ws / "regplan.yaml").write_text("clusters:\n  - {name: legacy, target: ocp3, profile: glusterfs}\n")
    for command, fmts in (("plan", commands.FLEET_PLAN_OUTPUTS), ("status", ("text", "json"))):
        for fmt in fmts:
            out, err, code = run(
                commands.fleet,
                commands.FleetOptions(
                    command=command, workspace=ws / "regplan.yaml", snapshot_dir=ws / "snapshots", output=fmt
                ),
            )
            assert code == 0, err
            channels[f"workspace {command} -o {fmt}"] = out + err
    for name, text in channels.items():
        assert leaks(text) == [], f"{name} leaks {leaks(text)}"


def edited_plan(tmp_path: Path, edit: Any) -> Path:
    live = hostile_snapshot(tmp_path)
    out = tmp_path / "plan.json"
    run(
        commands.plan,
        commands.PlanOptions(values=commands.ValueOptions(profile="glusterfs"), snapshot=live, out=out),
    )
    doc = json.loads(out.read_text())
    edit(doc)
    out.write_text(json.dumps(doc))
    return out


def _secret_data(doc: dict[str, Any]) -> None:
    for o in doc["desired"]:
        if o["kind"] == "Secret":
            o["data"] = {"config.yml": b64(AWS), "k": AZURE}
    for w in doc["writes"]:
        if w["object"]["kind"] == "Secret" and isinstance(w.get("body"), dict):
            w["body"]["data"] = {"config.yml": b64(AWS), "k": AZURE}
    for c in doc["changes"]:
        for f in c.get("fields", []):
            if f.get("sensitive"):
                f["sensitive"] = False
                f["new"] = SWIFT


def _bad_verb(doc: dict[str, Any]) -> None:
    doc["writes"][0]["verb"] = AWS


def _bad_version(doc: dict[str, Any]) -> None:
    doc["formatVersion"] = AZURE


@pytest.mark.parametrize("edit", [_secret_data, _bad_verb, _bad_version], ids=["data", "verb", "version"])
def test_a_hand_edited_plan_file_never_echoes_a_secret(tmp_path: Path, edit: Any) -> None:
    path = edited_plan(tmp_path, edit)
    texts = []
    for fmt in commands.SHOW_OUTPUTS:
        out, err, _ = run(commands.show, commands.ShowOptions(planfile=path, output=fmt))
        texts.append(out + err)
    out, err, code = run(commands.apply, commands.ApplyOptions(planfile=path, yes=True))
    texts.append(out + err)
    assert code != 0
    for text in texts:
        assert leaks(text) == [], leaks(text)


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("REGISTRY_STORAGE_S3_SECRETKEY", AWS, True),
        ("REGISTRY_STORAGE_AZURE_ACCOUNTKEY", AZURE, True),
        ("REGISTRY_STORAGE_AZURE_ACCOUNTKEY_FILE", "/etc/azure/key", False),  # a path, named as one
        ("REGISTRY_STORAGE_SWIFT_PASSWORD", SWIFT, True),
        ("REGISTRY_STORAGE_GCS_KEYFILE", GCS, True),  # the key file's content, inline
        ("REGISTRY_STORAGE_GCS_KEYFILE", "/etc/gcs/key.json", False),  # a path
        ("ANYTHING", PEM, True),  # the value gives it away
        ("REGISTRY_HTTP_TLS_KEY", "/etc/secrets/registry.key", False),
        ("REGISTRY_STORAGE_S3_BUCKET", "bucket", False),
    ],
)
def test_the_one_table(name: str, value: str, secret: bool) -> None:
    assert normalize.secret_env(name, value) is secret


def test_config_redaction_recurses_into_lists_and_keeps_the_structure() -> None:
    redacted = normalize.redact_config(CONFIG)
    assert leaks(json.dumps(redacted)) == []
    assert redacted["storage"]["swift"]["endpoints"][0] == {"region": "r1", "secretkey": "(redacted)"}
    assert redacted["middleware"]["storage"][0]["options"] == {"privatekey": "(redacted)", "keypairid": "K"}
    assert redacted["extra"] == [[{"credentials": "(redacted)"}], "(redacted)"]


def test_a_snapshot_of_a_claim_with_events_is_recorded(tmp_path: Path) -> None:
    """The classic case of the README: events listed by the API carry no apiVersion/kind (issue 16: the
    snapshot stopped with KeyError 'apiVersion'). Recorded, read back, the claim's events are there."""
    from regplan.base.model import LiveQuery, LiveState, Ref, Target
    from regplan.core import render, values

    rendered = render.render(
        values.load_values("ebs-gp2-rwo", files=[], sets=[], profiles_dir=None, environ={}), Target.OCP4
    )
    claim = Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")
    listed_event = {  # as GET .../events returns an item: no apiVersion, no kind
        "metadata": {"name": "image-registry-storage.1", "namespace": "openshift-image-registry"},
        "involvedObject": {"kind": "PersistentVolumeClaim", "name": "image-registry-storage"},
        "reason": "ProvisioningFailed",
        "message": "invalid AccessModes [ReadWriteMany]",
        "type": "Warning",
        "lastTimestamp": "2026-11-05T14:05:41Z",
    }
    asked: list[LiveQuery] = []

    def read(query: LiveQuery) -> LiveState:
        asked.append(query)
        state = LiveState(target=Target.OCP4)
        for ns, name in query.claims:
            state.events[Ref("v1", "PersistentVolumeClaim", ns, name)] = [listed_event]
        return state

    objects, refs = recording.record(rendered, read)
    assert len(asked) == 2  # two rounds: what is known, then what the registry mounts
    assert "Deployment/openshift-image-registry/image-registry" in map(str, refs)  # verify's workload
    path = tmp_path / "s.yaml"
    path.write_text(recording.snapshot_text(objects, "h", refs))
    state = snapshot.answer(
        snapshot.read_objects(path),
        LiveQuery(Target.OCP4, claims=((claim.namespace, claim.name),)),
        source="s",
    )
    assert [e["reason"] for e in state.events[claim]] == ["ProvisioningFailed"]
    assert snapshot.recorded_refs(path) == frozenset(map(str, refs))


def test_verify_says_not_recorded_instead_of_not_verified(tmp_path: Path) -> None:
    from regplan.base.model import Target

    # a snapshot recorded before verify was: no Deployment, no record of what was asked
    doc = yaml.safe_load((ROOT / "examples" / "fleet" / "snapshots" / "dev-us.yaml").read_text())
    doc.pop("metadata")
    doc["items"] = [o for o in doc["items"] if o["kind"] != "Deployment"]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(doc))
    out, _, code = run(
        commands.verify,
        commands.VerifyOptions(values=commands.ValueOptions(profile="ebs-gp2-rwo"), snapshot=old),
    )
    assert isinstance(code, str) and "not recorded in the snapshot" in code and "nothing was verified" in code
    assert "NOT verified" not in out
    # a regplan snapshot that asked for the Deployment and did not find it: a real finding
    objects = snapshot.read_objects(old)  # the same, recorded by this regplan, the Deployment absent
    path = tmp_path / "s.yaml"
    deployment = snapshot.Ref("apps/v1", "Deployment", "openshift-image-registry", "image-registry")
    claim = snapshot.Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")
    path.write_text(recording.snapshot_text(objects, "h", [deployment, claim]))
    out, _, code = run(
        commands.verify,
        commands.VerifyOptions(values=commands.ValueOptions(profile="ebs-gp2-rwo"), snapshot=path),
    )
    assert code == 2 and "image-registry not found" in out
    assert snapshot.detect_target(objects, "x") is Target.OCP4


SHIPPED = sorted((ROOT / "examples").rglob("snapshots/*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_verify_answers_on_every_shipped_snapshot(path: Path) -> None:
    name = path.name
    profile = (
        "aws-s3"
        if "aws" in name or "prod-eu" in name
        else "glusterfs"
        if "3" in name or "legacy" in name
        else "ebs-gp2-rwo"
    )
    out, err, code = run(
        commands.verify, commands.VerifyOptions(values=commands.ValueOptions(profile=profile), snapshot=path)
    )
    assert code in (0, 2), err
    assert "not found" not in out.split("workload:")[1].splitlines()[0]


def test_invalid_input_is_raised_for_snapshot_files_that_are_not_regular(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a regular file"):
        snapshot.read_objects(tmp_path)
