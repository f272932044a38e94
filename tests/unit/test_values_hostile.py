"""Hostile input to the values path: line breaks and control characters in every validated string, secrets
pasted where a KEY=VALUE or a source belongs, huge and deep --set strings, values from standard input that
is huge or never ends. Pure (tmp files and in-memory streams only)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from regplan.base.errors import BoundExceeded, InvalidInput, UnreadableInput, ValidationFailed
from regplan.base.model import Target
from regplan.core import render, rules, values

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # the shape of an AWS secret access key
BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x1b[2J", "\x07", "\t", "\x00"]


def load(
    profile: str,
    sets: list[str] = [],  # noqa: B006
    files: list[Path] = [],  # noqa: B006
    stdin: IO[bytes] | None = None,
) -> values.Values:
    return values.load_values(
        profile, files=files, sets=sets, profiles_dir=None, environ={"A": "a", "B": "b"}, stdin=stdin
    )


def messages(vals: values.Values, target: Target = Target.OCP4) -> str:
    _, found = rules.check(vals, target)
    return "\n".join(str(d) for d in found)


# A valid value of each validated string key, on the profile that takes it, with what makes it valid there.
VALID: list[tuple[str, str, str, dict[str, object]]] = [
    ("cephfs-rwx", "claim.name", "registry", {}),
    ("ebs-gp2-rwo", "claim.storageClass", "gp3-csi", {}),
    ("cephfs-rwx", "claim.size", "100Gi", {}),
    ("cephfs-rwx", "claim.accessMode", "ReadWriteMany", {}),
    ("cephfs-rwx", "rolloutStrategy", "RollingUpdate", {}),
    ("aws-s3", "s3.region", "eu-west-1", {"bucket": "acme"}),
    ("aws-s3", "s3.regionEndpoint", "https://s3.example.com", {}),
    ("aws-s3", "s3.bucket", "acme-registry", {"region": "eu-west-1"}),
    ("aws-s3", "s3.keyID", "alias/registry", {"encrypt": True}),
    ("aws-s3", "storage.managementState", "Managed", {}),
]


def values_file(tmp_path: Path, key: str, value: str, extra: dict[str, object]) -> Path:
    group, _, leaf = key.rpartition(".")
    doc: dict[str, object] = {group: {leaf: value, **extra}} if group else {leaf: value}
    f = tmp_path / "v.yaml"
    f.write_text(json.dumps(doc))  # JSON is YAML: every character survives, escaped
    return f


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
@pytest.mark.parametrize(("profile", "key", "good", "extra"), VALID, ids=[v[1] for v in VALID])
@pytest.mark.parametrize("where", ["after", "inside"])
def test_no_validator_lets_a_line_break_or_control_character_through(
    tmp_path: Path, profile: str, key: str, good: str, extra: dict[str, object], brk: str, where: str
) -> None:
    """The class of issue 16's `--set $'claim.name=registry\\n'`: every check is a full match."""
    value = good + brk if where == "after" else good[:3] + brk + good[3:]
    _, found = rules.check(load(profile, files=[values_file(tmp_path, key, value, extra)]), Target.OCP4)
    assert {d.key for d in found} == {key}, f"{key}={value!r}: {found}"
    for d in found:  # each message shows it escaped, never raw (a terminal would act on it)
        assert brk not in str(d)


@pytest.mark.parametrize(("profile", "key", "good", "extra"), VALID, ids=[v[1] for v in VALID])
def test_the_valid_values_pass(
    tmp_path: Path, profile: str, key: str, good: str, extra: dict[str, object]
) -> None:
    _, found = rules.check(load(profile, files=[values_file(tmp_path, key, good, extra)]), Target.OCP4)
    assert found == []


@pytest.mark.parametrize("brk", BREAKS, ids=repr)
def test_set_with_a_trailing_break_is_refused(brk: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        render.render(load("cephfs-rwx", [f"claim.name=registry{brk}"]), Target.OCP4)
    assert "claim.name (--set)" in str(err.value) and brk not in str(err.value)


@pytest.mark.parametrize("brk", ["\n", "\r", "\u2028", "\x1b", " "], ids=repr)
def test_integers_and_booleans_are_not_stripped(brk: str) -> None:
    found = messages(load("aws-s3", [f"replicas=2{brk}", f"s3.encrypt=true{brk}"]))
    assert "replicas (--set): expected an integer" in found and "s3.encrypt (--set): expected true" in found


# --- secrets pasted in the wrong place are never quoted back ---------------------------------------------


@pytest.mark.parametrize(
    "arg",
    [
        SECRET,  # the key alone
        f"s3.secretKey: {SECRET}",  # YAML syntax on the command line
        f"s3.secretKey:{SECRET}",
        f"{SECRET}=x",  # pasted as the key
        f"s3.accessKeyFrom=env:A,{SECRET}",  # a second item without '='
        f"s3.secretKey={{{SECRET}",  # an unterminated list
        f"s3.secretKey={{{SECRET}}}x",
    ],
)
def test_a_malformed_set_never_quotes_its_text(arg: str) -> None:
    with pytest.raises(InvalidInput) as err:
        load("aws-s3", [arg])
    assert SECRET not in str(err.value) and SECRET[:12] not in str(err.value)
    assert "--set (argument 1), item" in str(err.value)


@pytest.mark.parametrize(
    "arg",
    [
        f"s3.secretKey={SECRET}",
        f"s3.accessKey={SECRET}",
        f"s3.secretKeyFrom={SECRET}",
        f"s3.accessKeyFrom={SECRET}",
    ],
)
def test_a_secret_given_as_a_value_is_never_echoed(arg: str) -> None:
    found = messages(load("aws-s3", [arg]))
    assert found and SECRET not in found and SECRET[:12] not in found


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        ("env:A\n", "env: must name a variable"),
        ("env:A\r", "env: must name a variable"),
        ("env:A\u2028", "env: must name a variable"),
        ("env:A-B", "env: must name a variable"),
        ("env:A}$(id)", "env: must name a variable"),
        ("env:", "env: names nothing"),
        ("file:/tmp/key\n", "file: holds a line break"),
        ("file:/tmp/\x1b]52;c;key", "file: holds a line break"),
        (SECRET, "is not valid: neither env:VAR nor file:PATH"),
    ],
)
def test_a_bad_secret_source_is_refused_at_its_line_without_echo(
    tmp_path: Path, source: str, phrase: str
) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(json.dumps({"s3": {"accessKeyFrom": source, "secretKeyFrom": "env:B"}}))
    vals = load("aws-s3", files=[f])
    assert "s3.accessKey" not in vals.secrets  # not read: a bad source is never looked up
    found = messages(vals)
    assert f"s3.accessKeyFrom ({f}:1): {phrase}" in found, found
    assert (source not in found or source == "env:") and SECRET not in found


def test_a_good_env_source_is_read() -> None:
    vals = load("aws-s3", ["s3.accessKeyFrom=env:A,s3.secretKeyFrom=env:B"])
    assert sorted(vals.secrets) == ["s3.accessKey", "s3.secretKey"]


# --- huge and deep ---------------------------------------------------------------------------------------


def test_a_huge_value_is_refused_and_not_printed_whole() -> None:
    big = "a" * 1_000_000
    sets = [f"s3.regionEndpoint=https://x/{big} ", f"s3.keyID={big}", f"s3.region={big}", f"s3.bucket={big}"]
    found = messages(load("aws-s3", sets))
    assert found.count("error:") == 4 and len(found) < 2_000, found[:3000]


def test_a_huge_set_key_is_refused_without_quoting_it() -> None:
    with pytest.raises(InvalidInput, match="longer than 256 characters") as err:
        load("aws-s3", ["a" * 100_000 + "=1"])
    assert len(str(err.value)) < 300


def test_a_deep_set_key_is_refused() -> None:
    with pytest.raises(InvalidInput, match="deeper than 32 levels"):
        load("aws-s3", [".".join(["a"] * 33) + "=1"])
    assert load("aws-s3", [".".join(["a"] * 32) + "=1"]).get(".".join(["a"] * 32)) == "1"


def test_deep_list_indexes_are_bounded() -> None:
    vals = load("aws-s3", ["a" + "[99]" * 31 + "=x"])
    assert "unknown value key" in messages(vals)


def test_too_many_set_items_are_refused() -> None:
    items = ",".join(f"k{i}=1" for i in range(values.MAX_SET_ITEMS + 1))
    with pytest.raises(InvalidInput, match="more than 2000 --set items"):
        load("aws-s3", [items])


def test_a_long_list_is_read_once_and_refused() -> None:
    found = messages(load("cephfs-rwx", ["claim.accessMode={" + ",".join(["ReadWriteMany"] * 10_000) + "}"]))
    assert "claim.accessMode (--set): expected one value, got a list" in found and len(found) < 1_000


@pytest.mark.parametrize("key", ["\x1b]0;owned\x07", "a\nb", "a\u2028b", "x" * 500])
def test_an_unknown_key_from_a_file_is_shown_escaped(tmp_path: Path, key: str) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(json.dumps({key: 1}))
    found = messages(load("aws-s3", files=[f]))
    assert "unknown value key" in found
    assert not any(ch in found for ch in "\x1b\x07\u2028") and "a\nb" not in found and len(found) < 400


# --- -f - (standard input) and -f a,b -------------------------------------------------------------------


class Endless(io.RawIOBase):
    """A pipe that never ends (`yes | regplan ... -f -`)."""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        b[:] = b"y\n" * (len(b) // 2) + b"y" * (len(b) % 2)
        return len(b)


def test_values_from_stdin() -> None:
    vals = load("ebs-gp2-rwo", files=[Path("-")], stdin=io.BytesIO(b"claim:\n  size: 7Gi\n"))
    assert vals.get("claim.size") == "7Gi" and vals.origins["claim.size"] == "(stdin):2"


@pytest.mark.parametrize(
    ("stream", "error", "phrase"),
    [
        (Endless(), BoundExceeded, "larger than 262144 bytes"),
        (io.BytesIO(b"a: 1\n" * 100_000), BoundExceeded, "larger than 262144 bytes"),
        (io.BytesIO(b"replicas: \xff\xfe\n"), UnreadableInput, "(stdin): not UTF-8 text"),
        (io.BytesIO(b"- a\n"), InvalidInput, "(stdin):1: a values file is a mapping"),
        (io.BytesIO(b"a: [" * 100 + b"]" * 100), BoundExceeded, "depth"),
    ],
)
def test_stdin_is_bounded(stream: Any, error: type[Exception], phrase: str) -> None:
    with pytest.raises(error, match=phrase.replace("(", r"\(").replace(")", r"\)")) as err:
        load("ebs-gp2-rwo", files=[Path("-")], stdin=stream)
    assert "\xff" not in str(err.value)


def test_stdin_is_read_once() -> None:
    with pytest.raises(InvalidInput, match="standard input can be read once"):
        load("ebs-gp2-rwo", files=[Path("-"), Path("-")], stdin=io.BytesIO(b"{}"))
    with pytest.raises(InvalidInput, match="standard input can be read once"):
        load("ebs-gp2-rwo", files=[Path("-,-")], stdin=io.BytesIO(b"{}"))


def test_a_terminal_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(values, "_stdin_read", [])
    with pytest.raises(InvalidInput, match="standard input is a terminal"):
        load("ebs-gp2-rwo", files=[Path("-")])


def test_the_process_stdin_is_read_once_for_every_load(monkeypatch: pytest.MonkeyPatch) -> None:
    class Pipe(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", Pipe(io.BytesIO(b"replicas: 1\n")))
    monkeypatch.setattr(values, "_stdin_read", [])
    first = load("ebs-gp2-rwo", files=[Path("-")])
    second = load("ebs-gp2-rwo", files=[Path("-")])  # plan loads the values again: the same text
    assert first.get("replicas") == second.get("replicas") == 1


def test_comma_separated_values_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("claim: {size: 8Gi}\n")
    (tmp_path / "b.yaml").write_text("claim: {size: 9Gi}\n")
    vals = load("ebs-gp2-rwo", files=[Path(f"{tmp_path}/a.yaml,{tmp_path}/b.yaml")])
    assert vals.get("claim.size") == "9Gi" and vals.origins["claim.size"] == f"{tmp_path}/b.yaml:1"
    odd = tmp_path / "c,d.yaml"  # a file of that very name is read as it is
    odd.write_text("claim: {size: 10Gi}\n")
    assert load("ebs-gp2-rwo", files=[odd]).get("claim.size") == "10Gi"
    with pytest.raises(InvalidInput, match="an empty file name"):
        load("ebs-gp2-rwo", files=[Path(f"{tmp_path}/a.yaml,")])


def test_a_relative_file_source_on_stdin_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ak").write_text("AKIAEXAMPLE\n")
    (tmp_path / "sk").write_text(SECRET + "\n")
    monkeypatch.chdir(tmp_path)
    doc = b"s3:\n  accessKeyFrom: file:ak\n  secretKeyFrom: file:sk\n"
    vals = load("aws-s3", files=[Path("-")], stdin=io.BytesIO(doc))
    assert vals.secrets["s3.secretKey"].value == SECRET and SECRET not in repr(vals)
