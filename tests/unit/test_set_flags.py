"""`--set` as helm users type it, `--set-string`, `key=null`, and errors that name the key the user gave."""

from __future__ import annotations

import pytest

from regplan import render, values
from regplan.errors import InvalidInput, ValidationFailed
from regplan.model import Target


@pytest.mark.parametrize(
    ("arg", "items"),
    [
        ("a=1", [("a", "1")]),
        ("a=1,b=2", [("a", "1"), ("b", "2")]),
        (r"a=x\,y,b=2", [("a", "x,y"), ("b", "2")]),
        (r"a=back\\slash", [("a", r"back\slash")]),
        (r"a=c:\path", [("a", r"c:\path")]),  # a backslash before anything else stays
        ("a=", [("a", "")]),
        ("a=b=c", [("a", "b=c")]),
        ("a={x,y},b=2", [("a", ["x", "y"]), ("b", "2")]),  # helm's list form: the inner comma is the list's
        (r"a={x\,y,z}", [("a", ["x,y", "z"])]),
        ("a={}", [("a", [])]),
        (r"a=\{x}", [("a", "{x}")]),  # an escaped brace is a plain value
        ("a[1]=x", [("a", [None, "x"])]),
        ("a[0].b=x", [("a", [{"b": "x"}])]),
        ("a.b=null,c=NULL,d=Null,e=~", [("a.b", None), ("c", None), ("d", None), ("e", None)]),
    ],
)
def test_parse_set_reads_helms_forms(arg: str, items: list[tuple[str, object]]) -> None:
    parsed = values.parse_set(arg)
    got = []
    for item in parsed:
        data: dict[str, object] = {}
        if item.value is None:
            got.append((item.key, None))
            continue
        values._assign_path(data, item.path, item.value)
        got.append((item.key, values.lookup(data, item.key)))
    assert got == items


def test_set_string_keeps_null_as_a_string() -> None:
    assert values.parse_set("a=null", flag=values.ORIGIN_SET_STRING)[0].value == "null"


def load(profile: str, sets: list[str] = [], strings: list[str] = []) -> values.Values:  # noqa: B006
    return values.load_values(
        profile, files=[], sets=sets, set_strings=strings, profiles_dir=None, environ={}
    )


def test_several_keys_in_one_flag_are_typed_by_the_schema() -> None:
    vals = load("ebs-gp2-rwo", ["claim.size=200Gi,replicas=1"])
    norm = render.render(vals, Target.OCP4).values
    assert norm.get("claim.size") == "200Gi" and norm.get("replicas") == 1


def test_null_removes_a_key_instead_of_setting_the_string_null() -> None:
    vals = load("aws-s3", ["s3.bucket=acme-registry,s3.region=eu-west-1", "s3.bucket=null,s3.region=null"])
    assert vals.get("s3.bucket") is None and vals.get("s3.region") is None
    assert "null" not in str(render.render(vals, Target.OCP4).objects)


def test_set_string_keeps_strings_and_the_schema_still_checks_them() -> None:
    assert load("aws-s3", [], ["s3.bucket=123-bucket"]).get("s3.bucket") == "123-bucket"
    with pytest.raises(ValidationFailed, match=r"replicas \(--set-string\): expected an integer"):
        render.render(load("ebs-gp2-rwo", [], ["replicas=1"]), Target.OCP4)


@pytest.mark.parametrize("arg", ["bogus=null", "claim.bogus=null", "s3.nope=1"])
def test_unknown_keys_are_errors_whatever_their_value(arg: str) -> None:
    with pytest.raises(ValidationFailed, match="unknown value key"):
        render.render(load("aws-s3", [arg]), Target.OCP4)


@pytest.mark.parametrize("arg", ["novalue", "=1", "a b=1", "x=1,=2"])
def test_malformed_items_name_the_flag(arg: str) -> None:
    with pytest.raises(InvalidInput, match="--set"):
        load("aws-s3", [arg])


@pytest.mark.parametrize(
    ("profile", "sets", "blamed"),
    [
        # the profile sets ReadWriteMany; the user's --set of the class is what breaks it
        ("cephfs-rwx", ["claim.storageClass=gp2"], "claim.storageClass (--set)"),
        # the user's accessMode is what breaks the profile's gp2
        ("ebs-gp2-rwo", ["claim.accessMode=ReadWriteMany"], "claim.accessMode (--set)"),
        ("ebs-gp2-rwo", ["replicas=3"], "replicas (--set)"),
        ("cephfs-rwx", ["claim.accessMode=ReadWriteOnce"], "claim.accessMode (--set)"),
    ],
)
def test_a_cross_field_rule_blames_the_key_the_user_gave(profile: str, sets: list[str], blamed: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        render.render(load(profile, sets), Target.OCP4)
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"error: {blamed}:"), str(err.value)
