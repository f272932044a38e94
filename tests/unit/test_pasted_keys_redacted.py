"""An S3 secret access key pasted into the wrong value is never quoted back.

The outside check of issue 16: a value error quotes the value (escaped, cut to 60 characters), redacting key
material (``normalize.redact_text``); an AWS access key *id* was recognised, but the secret access key, the
S3 backend's actual secret (40 characters of base64), was quoted whole: ``--set claim.name=<key>``, a
workspace ``set:`` entry, ``s3.secretKeyFrom=file:<key>`` (the source's path). The text patterns now know
it, and every values problem is redacted as a whole before it is raised (``rules._redacted``), whatever
part of it quotes the value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from regplan.base import normalize
from regplan.base.errors import InvalidInput
from regplan.base.model import Target
from regplan.cli import commands
from regplan.core import rules, values

ROOT = Path(__file__).resolve().parents[2]
KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    "text",
    [KEY, f"bad value {KEY} here", f"'{KEY}'", f"file:{KEY}", "Zq7vX2mK9pL4Zq7vX2mK9pL4Zq7vX2mK9pL4Zq7v"],
)
def test_an_aws_secret_access_key_is_key_material(text: str) -> None:
    assert normalize.REDACTED in normalize.redact_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # a git SHA-1: lower-case hex
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "image-registry-storage-abcdefghijklmnopqrstu",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn1234",  # 44 characters: not 40
        "registry.example.com/platform/regplan:0.1.0",
    ],
)
def test_ordinary_text_is_not_taken_for_a_key(text: str) -> None:
    assert normalize.redact_text(text) == text


@pytest.mark.parametrize(
    "entry",
    [
        f"claim.name={KEY}",
        f"replicas={KEY}",
        f"claim.storageClass={KEY}",
        f"s3.bucket={KEY}",
        f"s3.regionEndpoint={KEY}",
        f"s3.keyID={KEY}",
        f"s3.secretKeyFrom=file:{KEY}",
        f"s3.accessKeyFrom=file:{KEY}",
    ],
)
def test_a_key_pasted_into_any_value_is_not_quoted(entry: str) -> None:
    profile = "aws-s3" if entry.startswith("s3.") else "ebs-gp2-rwo"
    vals = values.load_values(profile, files=[], sets=[], set_strings=[entry], profiles_dir=None, environ={})
    with pytest.raises(InvalidInput) as err:
        rules.validate(vals, Target.OCP4)
    assert KEY[:12] not in str(err.value), str(err.value)


def test_a_key_pasted_into_a_workspace_set_entry_is_not_quoted(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "fleet", ws)
    text = (ws / "regplan.yaml").read_text()
    entry = json.dumps(f"claim.name={KEY}")
    (ws / "regplan.yaml").write_text(text.replace("set: [claim.size=200Gi]", f"set: [{entry}]"))
    err: list[str] = []
    with pytest.raises(InvalidInput) as raised:
        commands.fleet(
            commands.FleetOptions(command="render", workspace=ws / "regplan.yaml", output="yaml"),
            reporter=commands.Reporter(out=lambda _: None, err=err.append),
            environ={},
        )
    assert KEY[:12] not in str(raised.value) + "".join(err)
