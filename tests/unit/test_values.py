"""Values: merge order, origins with file lines, --set, secret sources, user profiles (tmp files only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regplan.base.errors import InvalidInput
from regplan.core import values


def load(
    profile: str = "ebs-gp2-rwo",
    files: list[Path] | None = None,
    sets: list[str] | None = None,
    profiles_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> values.Values:
    return values.load_values(
        profile, files=files or [], sets=sets or [], profiles_dir=profiles_dir, environ=environ or {}
    )


def test_profile_defaults_carry_their_file_and_line() -> None:
    v = load()
    assert v.data["claim"]["storageClass"] == "gp2"
    assert v.origins["claim.storageClass"] == "profile ebs-gp2-rwo (profiles/ebs-gp2-rwo.yaml:10)"


def test_files_in_order_then_set_win(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("replicas: 1\nclaim:\n  size: 200Gi\n")
    b = tmp_path / "b.yaml"
    b.write_text("# comment\nclaim:\n  size: 300Gi\n")
    v = load(files=[a, b], sets=["replicas=1"])
    assert v.data["claim"]["size"] == "300Gi"
    assert v.origins["claim.size"] == f"{b}:3"
    assert v.origins["replicas"] == "--set"
    assert v.data["replicas"] == "1"  # typed by the schema in rules, not guessed here
    assert v.data["claim"]["storageClass"] == "gp2"  # deep merge keeps the profile's other keys


def test_null_unsets_a_key(tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("claim: null\ns3:\n  bucket: b\n")
    v = load(files=[f])
    assert "claim" not in v.data
    assert not any(k.startswith("claim") for k in v.origins)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("replicas: 1\nclaim: [\n")
    with pytest.raises(InvalidInput, match=rf"{f}:3:1: not valid YAML"):
        load(files=[f])


def test_values_file_must_be_a_mapping(tmp_path: Path) -> None:
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n")
    with pytest.raises(InvalidInput, match="mapping"):
        load(files=[f])


@pytest.mark.parametrize("item", ["replicas", "=3", "claim..size=1", "a b=1"])
def test_set_needs_key_equals_value(item: str) -> None:
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        load(sets=[item])


def test_unknown_profile_suggests() -> None:
    with pytest.raises(InvalidInput, match="did you mean 'glusterfs'"):
        load("glusterf")


def test_literal_secret_is_refused_and_dropped() -> None:
    v = load("aws-s3", sets=["s3.accessKey=AKIAXXXX"])
    assert v.get("s3.accessKey") is None
    assert [p.key for p in v.problems] == ["s3.accessKey"]
    assert "AKIAXXXX" not in str(v.problems[0])


def test_secret_from_env_and_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "secret").write_text("s3cr3t\n")
    f = tmp_path / "v.yaml"
    f.write_text("s3:\n  secretKeyFrom: file:keys/secret\n")
    v = load("aws-s3", files=[f], sets=["s3.accessKeyFrom=env:AK"], environ={"AK": "ak-value"})
    assert v.problems == []
    assert v.secrets["s3.accessKey"].value == "ak-value"
    assert v.secrets["s3.secretKey"].value == "s3cr3t"  # relative to the values file, newline stripped
    assert v.secrets["s3.secretKey"].source == f"file:{tmp_path / 'keys' / 'secret'}"
    assert "ak-value" not in repr(v.secrets["s3.accessKey"])


def test_missing_env_source_is_a_problem_not_a_crash() -> None:
    v = load("aws-s3", sets=["s3.accessKeyFrom=env:NOPE", "s3.secretKeyFrom=file:/nonexistent/x"])
    assert sorted(p.key for p in v.problems) == ["s3.accessKeyFrom", "s3.secretKeyFrom"]
    assert all(p.origin == "--set" for p in v.problems)


def test_digest_uses_secret_digest_only() -> None:
    a = load(
        "aws-s3", sets=["s3.accessKeyFrom=env:A", "s3.secretKeyFrom=env:B"], environ={"A": "1", "B": "2"}
    )
    b = load(
        "aws-s3", sets=["s3.accessKeyFrom=env:A", "s3.secretKeyFrom=env:B"], environ={"A": "1", "B": "2"}
    )
    c = load(
        "aws-s3", sets=["s3.accessKeyFrom=env:A", "s3.secretKeyFrom=env:B"], environ={"A": "1", "B": "3"}
    )
    assert a.digest() == b.digest() != c.digest()


def test_user_profiles_add_shadow_and_extend(tmp_path: Path) -> None:
    (tmp_path / "glusterfs.yaml").write_text(
        "description: my gluster\nvalues:\n  replicas: 5\n"
        "  claim:\n    name: r\n    size: 1Gi\n"
        "    storageClass: g\n    accessMode: ReadWriteMany\n"
    )
    (tmp_path / "big-ebs.yaml").write_text("extends: ebs-gp2-rwo\nvalues:\n  claim:\n    size: 1Ti\n")
    rows = dict(values.list_profiles(profiles_dir=tmp_path))
    assert rows["glusterfs"] == "my gluster"
    assert rows["big-ebs"] == "(extends ebs-gp2-rwo)"
    assert "aws-s3" in rows
    v = load("big-ebs", profiles_dir=tmp_path)
    assert v.data["claim"] == {
        "name": "image-registry-storage",
        "size": "1Ti",
        "storageClass": "gp2",
        "accessMode": "ReadWriteOnce",
    }
    assert v.origins["claim.size"] == f"profile big-ebs ({tmp_path / 'big-ebs.yaml'}:4)"
    assert v.origins["claim.name"].startswith("profile ebs-gp2-rwo (profiles/ebs-gp2-rwo.yaml:")
    assert load("glusterfs", profiles_dir=tmp_path).data["replicas"] == 5


def test_bad_profile_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("description: x\nvalue:\n  replicas: 1\n")
    with pytest.raises(InvalidInput, match=r"x.yaml:2: unknown profile field 'value'"):
        values.list_profiles(profiles_dir=tmp_path)


def test_builtin_profiles_listed_with_descriptions() -> None:
    rows = dict(values.list_profiles())
    assert set(rows) == {p.stem for p in (Path(__file__).resolve().parents[2] / "profiles").glob("*.yaml")}
    assert len(rows) >= 4
    assert "ReadWriteOnce" in rows["ebs-gp2-rwo"] and "1 replica" in rows["ebs-gp2-rwo"]
    assert all("\n" not in d and d for d in rows.values())


@pytest.mark.parametrize("description", ["x\\x1b[2Jy", "x\\ry", "x\\u2028y", "x\\ty"])
def test_a_profile_description_is_one_printable_line(tmp_path: Path, description: str) -> None:
    (tmp_path / "mine.yaml").write_text(f'extends: ebs-gp2-rwo\ndescription: "{description}"\n')
    with pytest.raises(InvalidInput, match=r"mine.yaml:2: description must be one line of printable text"):
        values.list_profiles(profiles_dir=tmp_path)


def test_a_profile_file_name_must_be_printable(tmp_path: Path) -> None:
    (tmp_path / "evil\x1b]0;x\x07.yaml").write_text("extends: ebs-gp2-rwo\n")
    with pytest.raises(InvalidInput, match="must be printable text") as err:
        values.list_profiles(profiles_dir=tmp_path)
    assert "\x1b" not in str(err.value)
