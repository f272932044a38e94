"""Free text from outside regplan (an Event's or a condition's reason and message from a cluster or a
snapshot; a reason, diagnostic or source read back from a plan file) is shown as one line, redacted
(``normalize.outside_text``). The outside check of issue 16 found the escape characters escaped but the line
breaks kept: an Event message holding ``\\n4 cluster(s): 0 with changes, 4 without ...`` printed that as a
line of its own in ``regplan status`` (a forged summary in a CI log), and a hand-edited plan file did the
same through ``regplan show``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from regplan.base import escape, normalize

ROOT = Path(__file__).resolve().parents[2]
PENDING = ROOT / "examples" / "snapshots" / "ocp4-pvc-pending.yaml"

FORGED = "4 cluster(s): 0 with changes, 4 without, 0 with errors; exit 0"
# Every line break a terminal or a log viewer honours, each followed by the forged line.
BREAKS = ("\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")
HOSTILE = "failed" + "".join(f"{b}{FORGED}" for b in BREAKS)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def forged_lines(text: str) -> list[str]:
    """Lines (as a terminal splits them) that begin with the forged text."""
    import re

    lines = re.split(r"\r\n|[\n\r\u2028\u2029\x85\x0b\x0c]", text)
    return [line for line in lines if line.startswith(FORGED)]


def snapshot_with_hostile_text(tmp_path: Path) -> Path:
    import copy

    doc = yaml.safe_load(PENDING.read_text())
    for item in list(doc["items"]):
        if item["kind"] == "Event":
            item["message"] = HOSTILE  # quoted by plan (a claim event it knows), status
            odd = copy.deepcopy(item)  # an event whose reason forges a line: status lists it
            odd["metadata"]["name"] += "-odd"
            odd["reason"] = f"Odd\n{FORGED}"
            doc["items"].append(odd)
        if item["kind"] == "Config":
            for c in item["status"]["conditions"]:
                c["message"] = HOSTILE
                if c["type"] == "Degraded":  # verify quotes a degraded operator's reason and message
                    c.update(status="True", reason=f"Error\n{FORGED}")
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_outside_text_is_one_line_and_redacted() -> None:
    shown = normalize.outside_text(HOSTILE + " AKIAIOSFODNN7EXAMPLE")
    assert forged_lines(shown) == [] and len(forged_lines(HOSTILE)) == len(BREAKS)
    assert "AKIAIOSFODNN7EXAMPLE" not in shown
    assert normalize.outside_text(None) == "" and normalize.outside_text(3) == "3"
    assert normalize.outside_text("waiting for first consumer") == "waiting for first consumer"


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "-o", "json"],
        ["plan", "-p", "ebs-gp2-rwo"],
        ["plan", "-p", "ebs-gp2-rwo", "-o", "markdown"],
        ["verify", "-p", "ebs-gp2-rwo"],
    ],
)
def test_cluster_text_cannot_print_a_line_of_its_own(tmp_path: Path, args: list[str]) -> None:
    snap = snapshot_with_hostile_text(tmp_path)
    r = run(*args, "--snapshot", str(snap), cwd=tmp_path)
    assert r.returncode in (0, 2), r.stderr
    assert "failed" in r.stdout or "Error" in r.stdout, r.stdout  # the text is shown, on its line
    assert forged_lines(r.stdout + r.stderr) == []


def test_a_plan_file_cannot_print_a_line_of_its_own_through_show(tmp_path: Path) -> None:
    r = run("plan", "-p", "ebs-gp2-rwo", "--snapshot", str(PENDING), "--out", "plan.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "plan.json").read_text())
    doc["source"] += HOSTILE
    for change in doc["changes"]:
        change["reason"] += HOSTILE
    doc["diagnostics"].append(
        {"severity": "warning", "key": HOSTILE, "message": HOSTILE, "origin": HOSTILE, "hint": HOSTILE}
    )
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    for fmt in ("text", "markdown", "json", "yaml"):
        shown = run("show", "edited.json", "-o", fmt, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert forged_lines(shown.stdout + shown.stderr) == [], fmt
    # regplan's own plan file reads back as it was written
    same = run("show", "plan.json", "-o", "json", cwd=tmp_path)
    assert json.loads(same.stdout)["diagnostics"] == doc["diagnostics"][:-1]


# recording.py stores (YAML data); actions.shown quotes with repr(), which is one line too.
ALLOWED = ("recording.py", "actions.py")


def test_only_the_snapshot_recorder_redacts_without_folding() -> None:
    """By construction: a view gets outside text through ``normalize.outside_text`` only. ``redact_text``
    alone keeps line breaks, which a recorded snapshot (YAML data, not shown) may keep; every other engine
    module that quoted it printed them."""
    users = sorted(
        p.name
        for p in (ROOT / "regplan" / "engine").glob("*.py")
        if "redact_text(" in p.read_text() and p.name not in ALLOWED
    )
    assert users == [], users


def snapshot_with_hostile_names(tmp_path: Path) -> Path:
    """Names and fields of live objects, as a hand-edited snapshot may hold them: a pod's name, the
    claim's class and volume, the Config's claim and the status' bucket, each with a forged line."""
    doc = yaml.safe_load(PENDING.read_text())
    for o in doc["items"]:
        if o["kind"] == "Pod":
            o["metadata"]["name"] += f"\n{FORGED}"
        if o["kind"] == "PersistentVolumeClaim":
            o["spec"].update(storageClassName=f"gp2\n{FORGED}", volumeName=f"pv\n{FORGED}")
        if o["kind"] == "Config":
            o["spec"]["storage"].setdefault("pvc", {})["claim"] = f"c\n{FORGED}"
    path = tmp_path / "names.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    "args",
    [["status"], ["plan", "-p", "ebs-gp2-rwo"], ["plan", "-p", "aws-s3", "--set", "s3.bucket=abc",
     "--set", "s3.region=us-east-1"], ["verify", "-p", "ebs-gp2-rwo"]],
)  # fmt: skip
def test_a_name_from_a_snapshot_cannot_print_a_line_of_its_own(tmp_path: Path, args: list[str]) -> None:
    """The text views join one item per line (``escape.lines``): a line break inside an item, which only
    data can bring, is shown escaped, whichever field of whichever object it came in."""
    r = run(*args, "--snapshot", str(snapshot_with_hostile_names(tmp_path)), cwd=tmp_path)
    assert r.returncode in (0, 2), r.stderr
    assert forged_lines(r.stdout + r.stderr) == []
    assert "\\u000a" + FORGED in r.stdout or args[0] == "verify", r.stdout


def test_lines_escapes_only_what_data_brings() -> None:
    assert escape.lines(["a", "", "b\nc", "\x1b[31mred\x1b[0m"]) == "a\n\nb\\u000ac\n\x1b[31mred\x1b[0m\n"
