"""`--set` as helm users type it, `--set-string`, `key=null`, and errors that name the key the user gave."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from regplan.base.errors import InvalidInput, ValidationFailed
from regplan.base.model import Target
from regplan.core import render, values


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
        # a second backend given by the user is what breaks the profile's claim: the group is blamed
        ("ebs-gp2-rwo", ["s3.bucket=acme,s3.region=us-east-1"], "s3 (--set)"),
    ],
)
def test_a_cross_field_rule_blames_the_key_the_user_gave(profile: str, sets: list[str], blamed: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        render.render(load(profile, sets), Target.OCP4)
    first = str(err.value).splitlines()[0]
    assert first.startswith(f"error: {blamed}:"), str(err.value)


# --- helm's list forms (issue 19 item 1): parsed, and refused naming the form and the key ------------------


@pytest.mark.parametrize(
    ("arg", "key", "phrase"),
    [
        ("claim.accessModes={ReadWriteMany}", "claim.accessModes", "did you mean 'claim.accessMode'?"),
        ("claim.accessModes={ReadWriteMany,ReadWriteOnce}", "claim.accessModes", "KEY={a,b}"),
        ("claim.accessMode={ReadWriteMany,ReadWriteOnce}", "claim.accessMode", "KEY={a,b}"),
        ("claim.accessMode={ReadWriteMany}", "claim.accessMode", "got a list"),
        ("claim.accessMode[0]=ReadWriteMany", "claim.accessMode", "KEY[N]=VALUE"),
        ("replicas[1]=2", "replicas", "got a list"),
    ],
)
def test_list_forms_are_refused_naming_the_form_and_the_key(arg: str, key: str, phrase: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        render.render(load("cephfs-rwx", [arg]), Target.OCP4)
    lines = [line for line in str(err.value).splitlines() if line.startswith(f"error: {key} (--set):")]
    assert lines and phrase in lines[0], str(err.value)


@pytest.mark.parametrize(
    ("arg", "phrase"),
    [
        ("a={x", "no closing '}'"),
        ("a={x}y", "text after the list's closing '}'"),
        ("a={x,{y}}", "a list inside a list"),
        ("a[100]=x", "list index above 99"),
        ("a[99999999999]=x", "dotted key"),
    ],
)
def test_malformed_list_forms(arg: str, phrase: str) -> None:
    with pytest.raises(values.SetSyntaxError, match=re.escape(phrase)):
        load("aws-s3", [arg])


# --- empty, null and strings (issue 19 item 3) -------------------------------------------------------------


@pytest.mark.parametrize("arg", ['claim.storageClass=""', "claim.storageClass=''", "claim.storageClass="])
def test_an_empty_storage_class_as_a_shell_user_types_it(arg: str) -> None:
    pvc = render.render(load("cephfs-rwx", [arg]), Target.OCP4).objects[0]
    assert pvc["kind"] == "PersistentVolumeClaim" and pvc["spec"]["storageClassName"] == ""


def test_quotes_are_literal_where_empty_is_not_valid() -> None:
    with pytest.raises(ValidationFailed, match=r"claim.name \(--set\): '\"\"' is not valid"):
        render.render(load("cephfs-rwx", ['claim.name=""']), Target.OCP4)


def test_the_hint_for_an_empty_value_is_a_valid_example() -> None:
    with pytest.raises(ValidationFailed) as err:
        render.render(load("cephfs-rwx", ["claim.storageClass=UPPER"]), Target.OCP4)
    assert "--set claim.storageClass= " in str(err.value)


@pytest.mark.parametrize("null", ["null", "NULL", "Null", "nUlL", "~"])
def test_null_in_any_case_removes_the_key_and_is_blamed_on_the_set(null: str) -> None:
    vals = load("cephfs-rwx", [f"claim.storageClass={null}"])
    assert vals.get("claim.storageClass") is None and vals.unset == {"claim.storageClass": "--set"}
    with pytest.raises(ValidationFailed) as err:
        render.render(vals, Target.OCP4)
    assert str(err.value).startswith("error: claim.storageClass (--set): is required"), str(err.value)


def test_null_in_a_values_file_is_blamed_on_its_line(tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("claim:\n  storageClass: null\n")
    vals = values.load_values("cephfs-rwx", files=[f], sets=[], profiles_dir=None, environ={})
    with pytest.raises(ValidationFailed, match=re.escape(f"claim.storageClass ({f}:2): is required")):
        render.render(vals, Target.OCP4)


@pytest.mark.parametrize(
    ("profile", "sets", "path", "expected"),
    [
        ("cephfs-rwx", ["claim.name=02"], ("metadata", "name"), "02"),
        ("cephfs-rwx", ["claim.name=1e3"], ("metadata", "name"), "1e3"),
        ("cephfs-rwx", ["claim.storageClass=0123"], ("spec", "storageClassName"), "0123"),
        ("cephfs-rwx", ["claim.name=true"], ("metadata", "name"), "true"),
    ],
)
def test_typing_never_changes_what_was_typed_for_a_string_key(
    profile: str, sets: list[str], path: tuple[str, str], expected: str
) -> None:
    pvc = render.render(load(profile, sets), Target.OCP4).objects[0]
    assert pvc[path[0]][path[1]] == expected


def test_a_bucket_of_digits_stays_a_string() -> None:
    objs = render.render(load("aws-s3", ["s3.bucket=0123,s3.region=us-east-1"]), Target.OCP4).objects
    config = next(o for o in objs if o["kind"] == "Config")
    assert config["spec"]["storage"]["s3"]["bucket"] == "0123"


def test_set_string_null_is_the_string_null() -> None:
    assert load("aws-s3", [], ["s3.bucket=null"]).get("s3.bucket") == "null"


# --- target-inapplicable keys and s3.keyID (issue 19 items 4, 5) -------------------------------------------


def test_virtual_hosted_style_is_refused_for_ocp3() -> None:
    vals = load("aws-s3", ["s3.bucket=acme,s3.region=us-east-1,s3.virtualHostedStyle=true"])
    with pytest.raises(
        ValidationFailed, match=r"s3.virtualHostedStyle \(--set\): does not apply to target ocp3"
    ):
        render.render(vals, Target.OCP3)
    config = next(o for o in render.render(vals, Target.OCP4).objects if o["kind"] == "Config")
    assert config["spec"]["storage"]["s3"]["virtualHostedStyle"] is True


KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    ("key_id", "ok"),
    [
        (KEY_ID, True),
        ("mrk-1234abcd12ab34cd56ef1234567890ab", True),
        ("alias/registry-key", True),
        (f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}", True),
        (f"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/{KEY_ID}", True),
        ("arn:aws-cn:kms:cn-north-1:111122223333:alias/registry", True),
        ("k", False),
        (KEY_ID.upper(), False),
        (KEY_ID + "\n", False),
        (KEY_ID + "\r", False),
        (KEY_ID + "\u2028", False),
        ("alias/x\nOSEv3:children", False),
        ("{{ lookup('pipe', 'id') }}", False),
        ("alias/" + "a" * 251, False),
        (f"arn:aws:kms:us-east-1:1111:key/{KEY_ID}", False),
        (f"arn:aws:s3:us-east-1:111122223333:key/{KEY_ID}", False),
        (f" {KEY_ID}", False),
    ],
)
def test_kms_key_id_is_validated(tmp_path: Path, key_id: str, ok: bool) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(f"s3:\n  encrypt: true\n  keyID: {json.dumps(key_id)}\n")  # a JSON string is YAML
    vals = values.load_values("aws-s3", files=[f], sets=[], profiles_dir=None, environ={})
    if ok:
        render.render(vals, Target.OCP4)
        return
    with pytest.raises(ValidationFailed) as err:
        render.render(vals, Target.OCP4)
    message = str(err.value)
    assert f"s3.keyID ({f}:3)" in message and "\n" not in message and "\u2028" not in message


def test_a_given_argument_keeps_its_origin_when_copied() -> None:
    import copy
    import pickle

    given = values.Given("a=1", "regplan.yaml:3", Path("/ws"), values.ORIGIN_SET_STRING)
    for other in (copy.deepcopy(given), pickle.loads(pickle.dumps(given)), copy.copy(given)):
        assert other == "a=1" and isinstance(other, values.Given)
        assert (other.origin, other.base, other.flag) == ("regplan.yaml:3", Path("/ws"), "--set-string")
