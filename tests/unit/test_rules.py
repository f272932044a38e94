"""Rules: schema, quantities, every domain rule (as a table of cases), live StorageClass check. Pure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regplan.base import model
from regplan.base.errors import ValidationFailed
from regplan.base.model import Target
from regplan.core import rules, values


def vals(profile: str, *sets: str, environ: dict[str, str] | None = None) -> values.Values:
    return values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=environ or {})


def problems(profile: str, *sets: str, target: Target = Target.OCP4) -> list[str]:
    _, found = rules.check(vals(profile, *sets, environ={"A": "a", "B": "b"}), target)
    return [f"{p.key}|{p.message}" for p in found]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("100Gi", "100Gi"),
        ("0.5Ti", "512Gi"),
        ("1024Mi", "1Gi"),
        ("1536Mi", "1536Mi"),
        ("1000M", "1G"),
        ("1000", "1k"),
        ("1500000000", "1500M"),
        ("1.5Gi", "1536Mi"),
        ("7", "7"),
        ("1e9", "1G"),  # one grammar with the diff and the API server (issue 10): an exponent is valid
        ("1.5e3", "1500"),
        ("7Ei", "7Ei"),
    ],
)
def test_canonical_quantity(text: str, canonical: str) -> None:
    assert rules.canonical_quantity(text) == canonical


@pytest.mark.parametrize(
    "bad", ["100GB", "0", "-1Gi", "0.1", "1e-9", "Gi", "1.5", "8Ei", "99999999999999999999999999999999Ei"]
)
def test_bad_quantities(bad: str) -> None:
    with pytest.raises(ValueError):
        rules.canonical_quantity(bad)


def test_defaults_of_every_profile_are_valid_on_ocp4() -> None:
    for name, _ in values.list_profiles():
        assert problems(name) == [], name


# (profile, --set..., target, expected rule id or schema key in the message)
DOMAIN_CASES = [
    ("ebs-gp2-rwo", ["replicas=2"], Target.OCP4, "rwo-replicas"),
    ("ebs-gp2-rwo", ["replicas=2"], Target.OCP3, "rwo-replicas"),
    ("ebs-gp2-rwo", ["rolloutStrategy=RollingUpdate"], Target.OCP4, "rwo-recreate"),
    ("ebs-gp2-rwo", ["claim.accessMode=ReadWriteMany"], Target.OCP4, "ebs-rwx"),
    ("cephfs-rwx", ["claim.storageClass=gp3-csi"], Target.OCP4, "ebs-rwx"),
    ("cephfs-rwx", ["claim.accessMode=ReadOnlyMany"], Target.OCP4, "rox"),
    ("aws-s3", ["s3.bucket=My_Bucket", "s3.region=us-east-1"], Target.OCP4, "bucket-name"),
    ("aws-s3", ["s3.bucket=192.168.1.1", "s3.region=us-east-1"], Target.OCP4, "bucket-name"),
    ("aws-s3", ["s3.bucket=a..b", "s3.region=us-east-1"], Target.OCP4, "bucket-name"),
    ("aws-s3", ["s3.bucket=ab", "s3.region=us-east-1"], Target.OCP4, "bucket-name"),
    ("aws-s3", ["s3.bucket=my-bucket"], Target.OCP4, "bucket-region"),
    ("aws-s3", ["s3.region=us-east-1"], Target.OCP4, "bucket-region"),
    ("aws-s3", [], Target.OCP3, "ocp3-bucket"),
    ("aws-s3", ["s3.accessKeyFrom=env:A"], Target.OCP4, "credentials-pair"),
    ("aws-s3", ["s3.keyID=alias/registry"], Target.OCP4, "keyid-encrypt"),
    ("aws-s3", ["claim.name=x"], Target.OCP4, "one-backend"),
    ("ebs-gp2-rwo", ["s3.accessKeyFrom=env:A", "s3.secretKeyFrom=env:B"], Target.OCP4, "one-backend"),
    (
        "aws-s3",
        ["s3.bucket=b-1", "s3.region=r", "registry.maxThreads=100"],
        Target.OCP3,
        "maxthreads-filesystem",
    ),
]


@pytest.mark.parametrize(("profile", "sets", "target", "rule_id"), DOMAIN_CASES)
def test_domain_rules(profile: str, sets: list[str], target: Target, rule_id: str) -> None:
    found = problems(profile, *sets, target=target)
    assert any(f"[{rule_id}:" in p for p in found), found


def test_every_domain_rule_has_a_case() -> None:
    covered = {case[3] for case in DOMAIN_CASES}
    assert {r.id for r in rules.DOMAIN_RULES} - covered <= {"no-backend", "s3-keys-without-s3"}


def test_valid_variants_pass() -> None:
    assert (
        problems(
            "aws-s3",
            "s3.bucket=my.bucket-1",
            "s3.region=eu-west-1",
            "s3.encrypt=true",
            "s3.keyID=arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "s3.chunkSizeMiB=10",
            "s3.accessKeyFrom=env:A",
            "s3.secretKeyFrom=env:B",
        )
        == []
    )
    assert problems("ebs-gp2-rwo", "registry.maxThreads=25", target=Target.OCP3) == []
    assert problems("cephfs-rwx", "claim.storageClass=", "replicas=4") == []


@pytest.mark.parametrize(
    ("sets", "key", "fragment"),
    [
        (["replicas=two"], "replicas", "expected an integer"),
        (["s3.chunkSizeMiB=4"], "s3.chunkSizeMiB", "below the minimum 5"),
        (["s3.chunkSizeMiB=6000"], "s3.chunkSizeMiB", "above the maximum 5120"),
        (["s3.encrypt=yes"], "s3.encrypt", "expected true or false"),
        (["s3.regionEndpoint=ftp://x"], "s3.regionEndpoint", "not valid"),
        (["s3.accessKeyFrom=vault:x", "s3.secretKeyFrom=env:B"], "s3.accessKeyFrom", "not valid"),
        (["s3.bucktet=x"], "s3.bucktet", "unknown value key"),
        (["storage.managementState=Removed"], "storage.managementState", "not allowed"),
    ],
)
def test_schema(sets: list[str], key: str, fragment: str) -> None:
    found = problems("aws-s3", *sets)
    assert any(p.startswith(f"{key}|") and fragment in p for p in found), found


def test_unknown_key_suggests_the_close_one() -> None:
    _, found = rules.check(vals("ebs-gp2-rwo", "claim.storageclass=gp3"), Target.OCP4)
    assert found[0].hint == "did you mean 'claim.storageClass'?"
    assert found[0].origin == "--set"


def test_all_problems_collected_with_origins() -> None:
    with pytest.raises(ValidationFailed) as exc:
        rules.validate(
            vals("ebs-gp2-rwo", "replicas=3", "claim.size=lots", "claim.accessMode=ReadWriteMany"),
            Target.OCP4,
        )
    keys = sorted(d.key for d in exc.value.diagnostics)
    assert keys == ["claim.accessMode", "claim.size"]  # a schema error and a domain rule, both reported
    assert all(
        d.origin == "--set" for d in exc.value.diagnostics if d.key in ("claim.size", "claim.accessMode")
    )
    assert exc.value.exit_code == 3


def test_ocp4_only_key_refused_on_ocp3() -> None:
    assert any(
        p.startswith("storage.managementState|does not apply")
        for p in problems("ebs-gp2-rwo", "storage.managementState=Managed", target=Target.OCP3)
    )
    assert any(
        p.startswith("registry.maxThreads|does not apply")
        for p in problems("ebs-gp2-rwo", "registry.maxThreads=30")
    )


def test_normalised_values_are_typed_and_canonical() -> None:
    norm = rules.validate(vals("cephfs-rwx", "replicas=3", "claim.size=0.5Ti"), Target.OCP4)
    assert norm.data["replicas"] == 3
    assert norm.data["claim"]["size"] == "512Gi"
    assert norm.data["storage"]["managementState"] == "Unmanaged"


@pytest.mark.parametrize(
    ("sets", "state"),
    [
        ([], "Managed"),
        (["s3.bucket=b-1", "s3.region=r"], "Unmanaged"),
        (["s3.bucket=b-1", "s3.region=r", "storage.managementState=Managed"], "Managed"),
    ],
)
def test_s3_management_state_default(sets: list[str], state: str) -> None:
    norm = rules.validate(vals("aws-s3", *sets), Target.OCP4)
    assert norm.data["storage"]["managementState"] == state


def test_rendered_checks_catch_template_bugs() -> None:
    bad_config = {
        "apiVersion": "x",
        "kind": "Config",
        "metadata": {"name": "cluster"},
        "spec": {"managementState": "Managed", "storage": {"s3": {}, "pvc": {"claim": "a"}}},
    }
    bad_pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "image-registry-storage", "namespace": "openshift-image-registry"},
    }
    ocp3_pvc = {**bad_pvc, "metadata": {"name": "image-registry-storage", "namespace": "default"}}
    assert rules.check_rendered([ocp3_pvc]) == []  # 3.x has no operator: no adoption annotation there
    msgs = [d.message for d in rules.check_rendered([bad_config, bad_pvc])]
    assert any("exactly one backend" in m for m in msgs)
    assert any("must remove (null)" in m for m in msgs)
    assert any("spec.managementState" in m for m in msgs)
    assert any("imageregistry.openshift.io" in m for m in msgs)


def test_docs_list_every_key_and_rule() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "values.md").read_text()
    for f in rules.SCHEMA:
        assert f"| `{f.key}` |" in doc, f.key
    for r in rules.DOMAIN_RULES:
        assert f"`{r.id}`" in doc, r.id


def test_a_secret_pasted_as_source_is_not_echoed() -> None:
    found = problems("aws-s3", "s3.accessKeyFrom=AKIAPASTEDBYMISTAKE", "s3.secretKeyFrom=env:B")
    assert any(p.startswith("s3.accessKeyFrom|") for p in found)
    assert not any("AKIAPASTEDBYMISTAKE" in p for p in found)


# --- full matches: the class of issue 16's trailing-newline names ---------------------------------------


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [
        (rules.DNS1123_SUBDOMAIN, "image-registry-storage"),
        (rules.URL, "https://s3.example.com:9000/path"),
        (rules.REGION, "us-east-1"),
        (rules.KMS_KEY_ID, "alias/registry"),
        (values.SECRET_SOURCE, "env:AWS_KEY"),
        (values.SECRET_SOURCE, "file:/keys/a"),
        (values.SET_KEY, "claim.size"),
    ],
)
@pytest.mark.parametrize("tail", ["\n", "\r", "\r\n", "\u2028", "\x00", " ", "\t"], ids=repr)
def test_every_pattern_matches_the_whole_value(pattern: re.Pattern[str], valid: str, tail: str) -> None:
    assert pattern.fullmatch(valid)
    if valid.startswith("file:") and tail == " ":
        return  # a path may hold blanks
    assert not pattern.fullmatch(valid + tail) and not pattern.fullmatch(tail + valid)


def test_no_module_validates_with_match() -> None:
    """`re.match` / `pattern.match` with `$` accepts a trailing newline: every check in regplan is a
    fullmatch (or a search for a forbidden character)."""
    root = Path(rules.__file__).parent
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(\bre|[A-Z_]|\bform|pattern)\.match\(", line)
    ]
    assert found == []


# --- the two S3 credential sources: every error names the source that is wrong ---------------------------

# How a source can be given: each is right or wrong, and a wrong one is reported naming its own key.
SOURCES = {
    "env set": ("env:GOOD", True),
    "file readable": ("file:{tmp}/key", True),
    "env unset": ("env:MISSING", False),
    "env holds a line break": ("env:BROKEN", False),
    "file empty": ("file:{tmp}/empty", False),
    "file missing": ("file:{tmp}/nope", False),
    "file is a FIFO": ("file:{tmp}/fifo", False),
    "malformed": ("AKIAIOSFODNN7EXAMPLE", False),
    "names nothing": ("env:", False),
    "absent": (None, True),
}
S3_SOURCES = ("s3.accessKeyFrom", "s3.secretKeyFrom")


@pytest.mark.parametrize("access", sorted(SOURCES))
@pytest.mark.parametrize("secret", sorted(SOURCES))
def test_every_pairing_of_credential_sources_blames_the_wrong_one(
    tmp_path: Path, access: str, secret: str
) -> None:
    import os

    (tmp_path / "key").write_text("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    (tmp_path / "empty").write_text("")
    if not (tmp_path / "fifo").exists():
        os.mkfifo(tmp_path / "fifo")  # a key file that would block a reader
    given = dict(zip(S3_SOURCES, (access, secret), strict=True))
    sets = ["s3.bucket=acme-registry", "s3.region=eu-west-1"]
    for key, name in given.items():
        text, _ = SOURCES[name]
        if text is not None:
            sets.append(f"{key}={text.format(tmp=tmp_path)}")
    environ = {"GOOD": "AKIAIOSFODNN7EXAMPL2", "BROKEN": "AKIAIOSFODNN7EXAMPL3\nx=y"}
    v = values.load_values("aws-s3", files=[], sets=sets, profiles_dir=None, environ=environ)
    _, found = rules.check(v, Target.OCP4)
    about = [d for d in found if d.severity == "error" and d.key in S3_SOURCES]
    shown = [str(d) for d in about]
    wrong = {key for key, name in given.items() if not SOURCES[name][1]}
    absent = {key for key, name in given.items() if name == "absent"}
    pairs = [d for d in about if "is not set: give both S3 credential sources" in d.message]
    # each wrong source under its own key, and nothing else but the pair rule
    assert sorted(d.key for d in about if d not in pairs) == sorted(wrong), shown
    # the pair rule names the source that is missing, and only one that really is
    for d in pairs:
        assert d.message.split(" is not set")[0] in absent, shown
    if len(absent) == 1 and not wrong:
        assert len(pairs) == 1, shown
    if len(absent) != 1:
        assert pairs == [], shown
    assert not any("wJalr" in str(d) or "AKIA" in str(d) for d in found)  # no key material echoed


@pytest.mark.parametrize(
    "text",
    ["100Gi", "0Gi", "1", "0", "1000M", "512Ki", "8Ei", "9Ei", "7E", "10E", "00100Gi", "1k", "9" * 40,
     "9" * 41 + "Gi", "1m", "1n", "1u", "+1Gi", "-1Gi", "1.5Gi", "1e3", "1E3", "1Gi\n", "\uff11Gi", "Gi", ""],
)  # fmt: skip
def test_whole_quantities_in_int_arithmetic_are_the_decimal_result(text: str) -> None:
    """``model._whole_quantity`` (render's path: no ``decimal`` import) gives exactly what the exact decimal
    parse gives, or leaves the text to it; ``canonical_quantity`` answers the same either way."""
    whole, exact = model._whole_quantity(text), model._quantity(text)
    if whole is not None:
        assert exact is not None and (whole[0], whole[1]) == (int(exact[0]), exact[1])
    try:
        fast: str | Exception = model.canonical_quantity(text)
    except ValueError as err:
        fast = err
    original = model._whole_quantity
    try:
        model._whole_quantity = lambda _: None  # type: ignore[assignment]
        try:
            slow: str | Exception = model.canonical_quantity(text)
        except ValueError as err:
            slow = err
    finally:
        model._whole_quantity = original
    assert str(fast) == str(slow) and type(fast) is type(slow)
