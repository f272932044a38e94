"""The schema of the values and the domain rules of docs/domain.md ("Rules regplan enforces"), as DATA.

Three tables drive every check, one row per rule with its reason:
- ``SCHEMA``: each value key, its type (with enum / pattern / range) and what would be valid;
- ``DERIVED_DEFAULTS``: defaults that depend on other values (storage ``managementState``);
- ``DOMAIN_RULES``: predicates over the normalised values, each naming the docs/domain.md rule it enforces;
plus ``PROVISIONER_ACCESS_MODES``, which the plan engine reads for the live check of the StorageClass it
read (``plan._class_checks``), and ``RENDERED_CHECKS`` over the rendered objects (a safety net
against template bugs). ``check`` collects ALL problems; ``validate`` raises ``ValidationFailed`` (exit 3).
Diagnostics name the key and its origin, never a secret value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from regplan.base import escape, lazyre
from regplan.base.errors import Diagnostic, ValidationFailed
from regplan.base.model import (
    INT32_MAX,
    OPERATOR_ANNOTATION,
    OPERATOR_CLAIM,
    REGISTRY_NAMESPACE,
    Obj,
    Target,
    canonical_quantity,
)
from regplan.core.values import SECRET_SOURCE, SECRET_SOURCES, Values, assign, delete, flatten, lookup

# Rows are NamedTuples and imports of rarely used modules are local: `regplan render` start-up time is
# budgeted (a dataclass costs ~1 ms to define; see bench/render_startup.py).

# --- value schema ------------------------------------------------------------------------------------

# Every pattern is used with ``fullmatch`` (never ``match`` and ``$``, which lets a trailing line break
# through into names, file names and generated scripts); ASCII only.
DNS1123_SUBDOMAIN = lazyre.Pattern(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
URL = lazyre.Pattern(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?"
)  # a path of printable ASCII, no blank
REGION = lazyre.Pattern(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
# A KMS key as S3 takes it (AWS KMS "Key identifiers"): a key id (a UUID, or mrk- and 32 hex digits for a
# multi-Region key), an alias name (alias/...), or the ARN of a key or an alias.
_KMS_KEY = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_ALIAS = r"alias/[A-Za-z0-9/_-]{1,250}"
KMS_KEY_ID = lazyre.Pattern(
    rf"{_KMS_KEY}|{_KMS_ALIAS}|arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]{{1,32}}:[0-9]{{12}}:(?:key/{_KMS_KEY}|{_KMS_ALIAS})"
)
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany")


class Field(NamedTuple):
    """One value key. ``type``: int, bool, str, quantity. ``empty_ok``: "" is a valid (meaningful) value."""

    key: str
    type: str
    doc: str
    hint: str = ""
    enum: tuple[str, ...] = ()
    pattern: lazyre.Pattern | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_len: int | None = None
    empty_ok: bool = False
    targets: tuple[str, ...] = ("ocp4", "ocp3")
    echo: bool = True  # False: never repeat the value in a message (a secret pasted where a source belongs)
    explain: Callable[[str], str] | None = (
        None  # why a value that fails ``pattern`` fails, without quoting it
    )


def _source_problem(value: str) -> str:
    """Why a secret source is not ``env:VAR`` or ``file:PATH``, in words that never quote it."""
    kind, sep, ref = value.partition(":")
    if not sep or kind not in ("env", "file"):
        return "is not valid: neither env:VAR nor file:PATH (value not shown: it may be a secret)"
    if not ref:
        return f"{kind}: names nothing"
    if kind == "env":
        return "env: must name a variable (letters, digits, '_'), with nothing after it (a line break?)"
    return "file: holds a line break or control character"


SCHEMA: tuple[Field, ...] = (
    Field(
        "replicas",
        "int",
        "registry replicas",
        "an integer >= 1",
        minimum=1,
        maximum=INT32_MAX,
    ),
    Field(
        "rolloutStrategy",
        "str",
        "how replicas are replaced (ocp3: RollingUpdate is the DC's Rolling)",
        "RollingUpdate or Recreate",
        enum=("RollingUpdate", "Recreate"),
    ),
    Field(
        "storage.managementState",
        "str",
        "ocp4: Managed lets the operator delete the storage on removal",
        "Managed or Unmanaged",
        enum=("Managed", "Unmanaged"),
        targets=("ocp4",),
    ),
    Field(
        "claim.name",
        "str",
        "PVC name",
        "a DNS-1123 subdomain, e.g. image-registry-storage",
        pattern=DNS1123_SUBDOMAIN,
        max_len=253,
    ),
    Field("claim.size", "quantity", "PVC size (canonicalised: 0.5Ti -> 512Gi)", "a quantity such as 100Gi"),
    Field(
        "claim.storageClass",
        "str",
        'StorageClass name; "" for none (static PV)',
        'a DNS-1123 subdomain, or empty for no class (--set claim.storageClass= , or "" in a values file)',
        pattern=DNS1123_SUBDOMAIN,
        max_len=253,
        empty_ok=True,
    ),
    Field("claim.accessMode", "str", "PVC access mode", " or ".join(ACCESS_MODES), enum=ACCESS_MODES),
    Field(
        "s3.bucket",
        "str",
        'bucket; "" (with region "") lets the ocp4 operator create and manage one',
        "a bucket name (3-63 lowercase letters, digits, dots, hyphens), or empty (--set s3.bucket= )",
        empty_ok=True,
    ),
    Field(
        "s3.region",
        "str",
        "bucket region, e.g. us-east-1",
        "a region such as us-east-1, or empty (--set s3.region= )",
        pattern=REGION,
        max_len=63,
        empty_ok=True,
    ),
    Field(
        "s3.regionEndpoint",
        "str",
        "S3-compatible endpoint URL",
        "an http(s):// URL",
        pattern=URL,
        max_len=2048,
    ),
    Field("s3.encrypt", "bool", "server-side encryption", "true or false"),
    Field(
        "s3.keyID",
        "str",
        "KMS key id for encryption",
        "a KMS key id (1234abcd-12ab-34cd-56ef-1234567890ab), alias/NAME, or a key or alias ARN",
        pattern=KMS_KEY_ID,
        max_len=2048,
    ),
    Field(
        "s3.chunkSizeMiB", "int", "multipart chunk size in MiB", "an integer 5..5120", minimum=5, maximum=5120
    ),
    Field(
        "s3.virtualHostedStyle",
        "bool",
        "virtual-hosted-style bucket addressing (the 4.x operator's field; 3.x's registry has no such key)",
        "true or false",
        targets=("ocp4",),
    ),
    Field(
        "s3.accessKeyFrom",
        "str",
        "source of the access key id",
        "env:VAR or file:PATH",
        pattern=SECRET_SOURCE,
        empty_ok=True,
        echo=False,
        explain=_source_problem,
    ),
    Field(
        "s3.secretKeyFrom",
        "str",
        "source of the secret access key",
        "env:VAR or file:PATH",
        pattern=SECRET_SOURCE,
        empty_ok=True,
        echo=False,
        explain=_source_problem,
    ),
    Field(
        "registry.maxThreads",
        "int",
        "ocp3 filesystem driver maxthreads (env)",
        "an integer >= 25",
        minimum=25,
        maximum=INT32_MAX,
        targets=("ocp3",),
    ),
)
SCHEMA_BY_KEY: dict[str, Field] = {f.key: f for f in SCHEMA}
GROUPS: frozenset[str] = frozenset(k.rsplit(".", 1)[0] for k in SCHEMA_BY_KEY if "." in k)


def _coerce(f: Field, value: Any, from_set: bool) -> tuple[Any, str | None]:
    """(normalised value, problem or None). ``--set`` values arrive as strings: typed here by the schema,
    and only where the key's type is not a string (``--set claim.name=02`` stays "02", as helm)."""
    if isinstance(value, list):
        return value, (
            "expected one value, got a list (helm's list forms KEY={a,b} and KEY[N]=VALUE are for list-typed "
            f"keys; {f.key} is not one)"
        )
    if f.type == "int":
        if from_set and isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,30}", value, re.ASCII):
            value = int(value)  # (30 digits: far beyond any bound, and int() refuses 4,300+ digits)
        if isinstance(value, bool) or not isinstance(value, int):
            return value, f"expected an integer, got {_show(value)}"
        if f.minimum is not None and value < f.minimum:
            return value, f"{value} is below the minimum {f.minimum}"
        if f.maximum is not None and value > f.maximum:
            return value, f"{value} is above the maximum {f.maximum}"
        return value, None
    if f.type == "bool":
        if from_set and isinstance(value, str) and value.lower() in ("true", "false"):
            value = value.lower() == "true"
        if not isinstance(value, bool):
            return value, f"expected true or false, got {_show(value)}"
        return value, None
    if not isinstance(value, str):
        if not f.echo:  # a secret pasted where its source belongs, maybe unquoted: never repeat it
            return (
                value,
                f"expected a string, got a {type(value).__name__} value (not shown: it may be a secret)",
            )
        return value, f"expected a string, got {_show(value)}" + (" (quote it)" if value is not None else "")
    if from_set and f.empty_ok and value in ('""', "''"):
        value = ""  # --set 'claim.storageClass=""': what a shell user types for an empty value
    if f.type == "quantity":
        try:
            return canonical_quantity(value), None
        except ValueError as err:
            return value, str(err)
    if value == "":
        return value, None if f.empty_ok else "must not be empty"
    if f.enum and value not in f.enum:
        import difflib

        close = difflib.get_close_matches(value, f.enum, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return value, f"{quoted_redacted(value)} is not allowed{hint}"
    if f.max_len is not None and len(value) > f.max_len:
        return value, f"longer than {f.max_len} characters"
    if f.pattern is not None and not f.pattern.fullmatch(value):
        if f.explain is not None:
            return value, f.explain(value)
        return value, f"{quoted_redacted(value)} is not valid" if f.echo else "is not valid (value not shown)"
    return value, None


def quoted_redacted(text: str) -> str:
    """``normalize.quoted_redacted``, imported when a message needs it: ``normalize`` (its rule tables and
    patterns) is not on a valid render's path (start-up time, docs/performance.md)."""
    from regplan.base.normalize import quoted_redacted as quote

    return quote(text)


def redact_text(text: str) -> str:
    """``normalize.redact_text``, imported when a message needs it (as ``quoted_redacted``)."""
    from regplan.base.normalize import redact_text as redact

    return redact(text)


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {escape.shown(redact_text(value) if isinstance(value, str) else value)}"


# --- derived defaults ---------------------------------------------------------------------------------


class Derived(NamedTuple):
    """A default that depends on other values; applied only when the key was not given anywhere."""

    key: str
    applies: Callable[[Ctx], bool]
    value: Callable[[Ctx], Any]
    why: str


# --- domain rules ------------------------------------------------------------------------------------


class Ctx:
    """What a rule sees: the normalised values and the target."""

    __slots__ = ("data", "read", "target", "values")

    def __init__(self, values: Values, target: Target, data: dict[str, Any]) -> None:
        self.values = values
        self.target = target
        self.data = data
        self.read: list[str] = []  # the keys a rule looked at, in order (who to blame when it fails)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.append(key)
        return lookup(self.data, key, default)

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    @property
    def backend(self) -> str | None:
        return backend_of(self.data)


def backend_of(data: Mapping[str, Any]) -> str | None:
    """``pvc`` when the values configure a claim, ``s3`` when they configure S3, None if neither/both."""
    has_claim, has_s3 = isinstance(data.get("claim"), Mapping), isinstance(data.get("s3"), Mapping)
    if has_claim == has_s3:
        return None
    return "pvc" if has_claim else "s3"


EBS_CLASSES: frozenset[str] = frozenset({"gp2", "gp3", "gp2-csi", "gp3-csi", "io1", "io2", "st1", "sc1"})


def _bucket_problem(name: str) -> str | None:
    """AWS bucket naming rules (general purpose buckets), as (test, message) rows."""
    checks: tuple[tuple[Callable[[str], bool], str], ...] = (
        (lambda n: 3 <= len(n) <= 63, "must be 3 to 63 characters long"),
        (
            lambda n: re.fullmatch(r"[a-z0-9.-]+", n) is not None,
            "may hold only lowercase letters, digits, '.', '-'",
        ),
        (lambda n: n[0].isalnum() and n[-1].isalnum(), "must begin and end with a letter or digit"),
        (lambda n: ".." not in n, "must not contain '..'"),
        (lambda n: not _is_ip(n), "must not be formatted as an IP address"),
        (lambda n: not n.startswith(("xn--", "sthree-")), "must not start with 'xn--' or 'sthree-'"),
        (lambda n: not n.endswith(("-s3alias", "--ol-s3")), "must not end with '-s3alias' or '--ol-s3'"),
    )
    for ok, message in checks:
        if not ok(name):
            return message
    return None


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


class Rule(NamedTuple):
    """One domain rule: ``violated(ctx)`` returns a message (the problem) or None."""

    id: str
    key: str  # the value key reported (its origin is shown)
    violated: Callable[[Ctx], str | None]
    hint: str
    ref: str  # where the fact comes from: docs/domain.md "Rules regplan enforces" number, or its source
    targets: tuple[str, ...] = ("ocp4", "ocp3")


def _msg(cond: bool, message: str) -> str | None:
    return message if cond else None


DOMAIN_RULES: tuple[Rule, ...] = (
    Rule(
        "one-backend",
        "claim",
        lambda c: _msg(
            isinstance(c.get("claim"), Mapping) and isinstance(c.get("s3"), Mapping),
            "both claim.* and s3.* are set: the registry takes exactly one storage backend",
        ),
        "unset one of them (a values file can set `s3: null` or `claim: null`)",
        "docs/domain.md rule 1",
    ),
    Rule(
        "no-backend",
        "claim",
        lambda c: _msg(
            not isinstance(c.get("claim"), Mapping) and not isinstance(c.get("s3"), Mapping),
            "the profile configures no storage backend",
        ),
        "set claim.* (a PVC) or s3.* (object storage)",
        "docs/domain.md rule 1",
    ),
    Rule(
        "rwo-replicas",
        "replicas",
        lambda c: _msg(
            c.backend == "pvc"
            and c.get("claim.accessMode") == "ReadWriteOnce"
            and isinstance(c.get("replicas"), int)
            and c.get("replicas") > 1,
            "cannot use ReadWriteOnce access mode with more than one replica of the image registry",
        ),
        "set replicas=1, or use a ReadWriteMany class (cephfs-rwx, glusterfs)",
        "docs/domain.md rules 2, 8",
    ),
    Rule(
        "rwo-recreate",
        "rolloutStrategy",
        lambda c: _msg(
            c.backend == "pvc"
            and c.get("claim.accessMode") == "ReadWriteOnce"
            and c.get("rolloutStrategy") != "Recreate",
            "cannot use ReadWriteOnce access mode with RollingUpdate rollout strategy"
            " (a new pod cannot mount the claim the old one holds)",
        ),
        "set rolloutStrategy=Recreate",
        "docs/domain.md rules 2, 8",
    ),
    Rule(
        "ebs-rwx",
        "claim.accessMode",
        lambda c: _msg(
            c.backend == "pvc"
            and c.get("claim.storageClass") in EBS_CLASSES
            and c.get("claim.accessMode") == "ReadWriteMany",
            f"StorageClass {escape.shown(c.get('claim.storageClass'))} is AWS EBS, which only supports"
            " ReadWriteOnce (the claim would never bind)",
        ),
        "use claim.accessMode=ReadWriteOnce with replicas=1 and Recreate, or an RWX class (CephFS)",
        "docs/domain.md rule 3",
    ),
    Rule(
        "rox",
        "claim.accessMode",
        lambda c: _msg(
            c.backend == "pvc" and c.get("claim.accessMode") == "ReadOnlyMany",
            "the registry writes to its storage: a ReadOnlyMany claim cannot hold pushed images",
        ),
        "use ReadWriteOnce (one replica) or ReadWriteMany",
        "registry needs write access",
    ),
    Rule(
        "bucket-name",
        "s3.bucket",
        lambda c: (
            (f"bucket name {quoted_redacted(c.get('s3.bucket'))} " + p)
            if c.backend == "s3"
            and isinstance(c.get("s3.bucket"), str)
            and c.get("s3.bucket")
            and (p := _bucket_problem(c.get("s3.bucket")))
            else None
        ),
        "a valid S3 bucket name: 3-63 chars of a-z 0-9 . -, no '..', not an IP address",
        "AWS bucket naming",
    ),
    Rule(
        "bucket-region",
        "s3.region",
        lambda c: _msg(
            c.backend == "s3" and bool(c.get("s3.bucket")) != bool(c.get("s3.region")),
            "s3.bucket and s3.region must be given together",
        ),
        "set both, or leave both empty so the operator creates and manages its own bucket",
        "operator S3 driver",
    ),
    Rule(
        "ocp3-bucket",
        "s3.bucket",
        lambda c: _msg(
            c.backend == "s3" and not c.get("s3.bucket"), "OpenShift 3 has no operator to create a bucket"
        ),
        "set s3.bucket and s3.region",
        "docs/domain.md, OpenShift 3.x docker-registry",
        targets=("ocp3",),
    ),
    Rule(
        "credentials-pair",
        "s3.accessKeyFrom",
        lambda c: _msg(
            bool(c.get("s3.accessKeyFrom")) != bool(c.get("s3.secretKeyFrom")),
            f"{'s3.secretKeyFrom' if c.get('s3.accessKeyFrom') else 's3.accessKeyFrom'} is not set: give "
            "both S3 credential sources or neither (the operator fails on a secret with one key)",
        ),
        "set s3.accessKeyFrom and s3.secretKeyFrom, or neither to use the cluster's credentials",
        "docs/domain.md rule 6",
    ),
    Rule(
        "keyid-encrypt",
        "s3.keyID",
        lambda c: _msg(
            bool(c.get("s3.keyID")) and c.get("s3.encrypt") is not True,
            "s3.keyID is only used with encryption",
        ),
        "set s3.encrypt=true, or drop s3.keyID",
        "operator S3 driver",
    ),
    Rule(
        "s3-keys-without-s3",
        "s3.accessKeyFrom",
        lambda c: _msg(
            c.backend == "pvc" and bool(c.get("s3.accessKeyFrom") or c.get("s3.secretKeyFrom")),
            "S3 credentials given for a PVC profile",
        ),
        "drop s3.accessKeyFrom / s3.secretKeyFrom",
        "docs/domain.md rule 1",
    ),
    Rule(
        "maxthreads-filesystem",
        "registry.maxThreads",
        lambda c: _msg(
            c.backend == "s3" and c.has("registry.maxThreads"),
            "registry.maxThreads tunes the filesystem driver; this profile uses S3",
        ),
        "drop registry.maxThreads",
        "docs/domain.md filesystem.maxthreads",
        targets=("ocp3",),
    ),
)


# Keys the templates read for a backend (None: every backend). Missing, they used to surface as a
# template error naming a template line ("StrictUndefined is not JSON serializable"), not the key.
REQUIRED: tuple[tuple[str, str | None], ...] = (
    ("replicas", None),
    ("rolloutStrategy", None),
    ("claim.name", "pvc"),
    ("claim.size", "pvc"),
    ("claim.accessMode", "pvc"),
    ("claim.storageClass", "pvc"),
)


DERIVED_DEFAULTS: tuple[Derived, ...] = (
    Derived(
        "storage.managementState",
        lambda c: c.backend == "s3",
        lambda c: "Unmanaged" if c.get("s3.bucket") else "Managed",
        "an operator-created bucket is Managed; a bucket you bring is Unmanaged",
    ),
    Derived(
        "storage.managementState",
        lambda c: c.backend == "pvc",
        lambda c: "Unmanaged",
        "a claim regplan creates is yours: the operator must not delete it",
    ),
)


def check(values: Values, target: Target) -> tuple[Values, list[Diagnostic]]:
    """Normalise the values (types, canonical quantities, derived defaults) and list EVERY problem."""
    problems: list[Diagnostic] = list(values.problems)
    data: dict[str, Any] = _deep_copy(values.data)
    origins = dict(values.origins)
    bad_keys: set[str] = set()
    leaves: dict[str, Any] = {}
    flatten(data, "", leaves)
    for key, value in sorted(leaves.items()):
        origin = values.origin(key)
        f = SCHEMA_BY_KEY.get(key)
        if f is None:
            if key in GROUPS and isinstance(value, Mapping):
                continue  # an empty group such as `s3: {}`
            problems.append(_unknown(key, origin, isinstance(value, list)))
            continue
        if target.value not in f.targets:
            problems.append(
                Diagnostic(
                    key,
                    f"does not apply to target {target.value}",
                    origin,
                    f"valid only for {', '.join(f.targets)}",
                )
            )
            continue
        norm, problem = _coerce(f, value, key in values.typed)  # --set-string values stay strings
        if problem:
            problems.append(Diagnostic(key, problem, origin, f"valid: {f.hint}"))
            bad_keys.add(key)
            delete(data, key)  # domain rules below see it as unset, not as a wrong type
        else:
            assign(data, key, norm)
    for key, origin in sorted(values.unset.items()):
        # `KEY: null` unsets a known key or group; an unknown one is a typo that would otherwise pass silently
        if key not in SCHEMA_BY_KEY and key not in GROUPS and key not in SECRET_SOURCES:
            problems.append(_unknown(key, origin))
    for group in GROUPS:
        if group in data and not isinstance(data[group], Mapping):
            problems.append(
                Diagnostic(
                    group,
                    f"expected a mapping of {group}.* keys",
                    values.origin(group),
                    f"e.g. {group}: {{...}} in a values file",
                )
            )
    ctx = Ctx(values, target, data)
    for key, backend in REQUIRED:
        if key in bad_keys or ctx.get(key) is not None or ctx.backend is None:
            continue  # refused above, set, or no single backend (the backend rules say so)
        if backend is None or backend == ctx.backend:
            problems.append(
                Diagnostic(
                    key,
                    "is required",
                    # where it was unset (`--set claim.storageClass=null`), else where its group was set
                    values.origin(key) or _unset_origin(values, key) or f"profile {values.profile}",
                    f"valid: {SCHEMA_BY_KEY[key].hint}",
                )
            )
            bad_keys.add(key)  # the domain rules would only repeat it ("RollingUpdate" for a missing one)
    for d in DERIVED_DEFAULTS:
        if ctx.get(d.key) is None and d.applies(ctx) and target.value in SCHEMA_BY_KEY[d.key].targets:
            assign(data, d.key, d.value(ctx))
            origins[d.key] = f"default: {d.why}"
    if target.value not in values.targets:
        problems.append(
            Diagnostic(
                "--target",
                f"profile {values.profile} does not support {target.value}",
                f"profile {values.profile}",
                f"valid: {', '.join(values.targets)}",
            )
        )
    # Every rule runs, so the user sees all problems at once; a rule that read a key whose value was already
    # refused above saw it as unset, so it would only repeat that problem in other words - or blame a key
    # that is right (a malformed s3.secretKeyFrom made "give both sources" name s3.accessKeyFrom).
    for rule in DOMAIN_RULES:
        if target.value not in rule.targets or rule.key in bad_keys:
            continue
        ctx.read.clear()
        message = rule.violated(ctx)
        if message and not bad_keys.intersection(ctx.read):
            key = _blamed(values, rule.key, ctx.read)
            problems.append(
                Diagnostic(
                    key,
                    f"{message} [{rule.id}: {rule.ref}]",
                    _given(values, key)[1] or _rule_origin(values, rule),
                    rule.hint,
                )
            )
    normalised = Values(values.profile, data, origins, dict(values.secrets), values.targets, [])
    return normalised, problems


def validate(values: Values, target: Target) -> Values:
    """The normalised values, or ``ValidationFailed`` with every problem (exit 3)."""
    normalised, problems = check(values, target)
    errors = [_redacted(p) for p in problems if p.severity == "error"]
    if errors:
        raise ValidationFailed(errors)
    return normalised


def _redacted(d: Diagnostic) -> Diagnostic:
    """``d`` with key material redacted from all its text, whatever built it: a value quoted by a rule
    (``_shown`` redacts those already) and a path quoted by a source's check (``file:`` followed by a
    pasted key) alike."""
    import dataclasses

    return dataclasses.replace(
        d, key=redact_text(d.key), message=redact_text(d.message), origin=redact_text(d.origin),
        hint=redact_text(d.hint),
    )  # fmt: skip


def _unset_origin(values: Values, key: str) -> str:
    """Where ``key`` (or the nearest parent) was set to null, or ""."""
    parts = key.split(".")
    while parts:
        found = values.unset.get(".".join(parts))
        if found:
            return found
        parts.pop()
    return ""


def _precedence(values: Values, key: str) -> int:
    """How directly the user gave a value: --set (or a workspace `set:`) beats a values file beats the
    profile beats a default. A group (``s3``) counts as its most directly given key."""
    return _given(values, key)[0]


def _given(values: Values, key: str) -> tuple[int, str]:
    """(how directly, origin) of ``key``; for a group without an origin of its own, its most direct key's."""
    if key in GROUPS and not values.origins.get(key):
        inside = [_given(values, k) for k in values.origins if k.startswith(key + ".")]
        return max(inside, key=lambda given: given[0], default=(1, ""))
    origin = values.origin(key)
    if key in values.typed or origin.startswith("--set"):
        return 3, origin
    if origin.startswith("profile ") or not origin:
        return 1, origin
    if origin.startswith("default:"):
        return 0, origin
    return 2, origin  # values file:line


def _blamed(values: Values, key: str, read: list[str]) -> str:
    """The key a failed cross-field rule names: of the keys it read, the one the user gave most directly
    (``--set claim.storageClass=gp2`` is blamed, not the profile's ``claim.accessMode``; ``--set
    s3.bucket=x`` on a claim profile blames ``s3``, not the profile's ``claim``); ties: the rule's."""
    best = key
    for other in dict.fromkeys(read):
        known = other in SCHEMA_BY_KEY or other in GROUPS
        if known and _precedence(values, other) > _precedence(values, best):
            best = other
    return best


def _rule_origin(values: Values, rule: Rule) -> str:
    return values.origins.get(rule.key, f"profile {values.profile}")


def _unknown(key: str, origin: str, listed: bool = False) -> Diagnostic:
    import difflib

    if key in SECRET_SOURCES:  # already reported by values (literal secret); keep the hint
        return Diagnostic(key, "a literal secret is refused", origin, f"use {SECRET_SOURCES[key]}=env:VAR")
    close = difflib.get_close_matches(key, list(SCHEMA_BY_KEY), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "see docs/values.md for the keys"
    if listed:
        hint += " (no regplan value is a list: helm's KEY={a,b} and KEY[N]=VALUE do not apply)"
    # a file's key may hold anything
    shown = key if key.isprintable() and len(key) <= 100 else quoted_redacted(key)
    return Diagnostic(shown, "unknown value key", origin, hint)


def _deep_copy(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _deep_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_deep_copy(v) for v in node]
    return node


# --- live context: the StorageClass the claim names ---------------------------------------------------

# provisioner (fnmatch pattern) -> access modes it can provision for filesystem volumes, and the source.
PROVISIONER_ACCESS_MODES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("kubernetes.io/aws-ebs", frozenset({"ReadWriteOnce"}), "AWS EBS (in-tree)"),
    ("ebs.csi.aws.com", frozenset({"ReadWriteOnce"}), "AWS EBS CSI driver"),
    ("rbd.csi.ceph.com", frozenset({"ReadWriteOnce", "ReadOnlyMany"}), "Ceph RBD CSI (block)"),
    ("*.rbd.csi.ceph.com", frozenset({"ReadWriteOnce", "ReadOnlyMany"}), "Ceph RBD CSI (block)"),
    ("kubernetes.io/rbd", frozenset({"ReadWriteOnce", "ReadOnlyMany"}), "Ceph RBD (in-tree)"),
    ("kubernetes.io/gce-pd", frozenset({"ReadWriteOnce", "ReadOnlyMany"}), "GCE PD"),
    ("pd.csi.storage.gke.io", frozenset({"ReadWriteOnce", "ReadOnlyMany"}), "GCE PD CSI"),
    ("kubernetes.io/azure-disk", frozenset({"ReadWriteOnce"}), "Azure Disk"),
    ("disk.csi.azure.com", frozenset({"ReadWriteOnce"}), "Azure Disk CSI"),
    ("kubernetes.io/cinder", frozenset({"ReadWriteOnce"}), "OpenStack Cinder"),
    ("cinder.csi.openstack.org", frozenset({"ReadWriteOnce"}), "OpenStack Cinder CSI"),
)


# --- rendered objects: a safety net against template bugs ---------------------------------------------

CONFIG_BACKENDS: tuple[str, ...] = ("azure", "emptyDir", "gcs", "ibmcos", "oss", "pvc", "s3", "swift")


def _check_config(obj: Obj) -> list[str]:
    storage = (obj.get("spec") or {}).get("storage") or {}
    set_ = [b for b in CONFIG_BACKENDS if storage.get(b) is not None]
    missing = [b for b in CONFIG_BACKENDS if b not in storage]
    out = []
    if len(set_) != 1:
        out.append(f"spec.storage must set exactly one backend, sets {set_}")
    if missing:
        out.append(f"spec.storage must remove (null) every other backend; missing {missing}")
    if "managementState" in (obj.get("spec") or {}):
        out.append("spec.managementState belongs to the operator's user, not to regplan")
    return out


def _check_pvc(obj: Obj) -> list[str]:
    meta = obj.get("metadata") or {}
    if (  # 4.x only: the operator's namespace (3.x has no operator to adopt the claim)
        meta.get("namespace") == REGISTRY_NAMESPACE[Target.OCP4]
        and meta.get("name") == OPERATOR_CLAIM
        and (meta.get("annotations") or {}).get(OPERATOR_ANNOTATION) != "true"
    ):
        return [
            f'a claim named {OPERATOR_CLAIM} needs annotation {OPERATOR_ANNOTATION}: "true" '
            "(docs/domain.md rule 4)"
        ]
    return []


def _check_registry_config(obj: Obj) -> list[str]:
    raw = (obj.get("data") or {}).get("config.yml")
    if raw is None:
        return []
    import base64

    from regplan.base import yamlio  # only for this safety net; yamlio is already loaded by render

    cfg = yamlio.load_all_safe(base64.b64decode(raw).decode(), "config.yml")[0] or {}
    storage = cfg.get("storage") or {}
    drivers = [k for k in storage if k not in ("delete", "cache", "maintenance", "redirect")]
    out = []
    if len(drivers) != 1:
        out.append(f"config.yml must have exactly one storage driver, has {drivers}")
    if (storage.get("delete") or {}).get("enabled") is not True:
        out.append("config.yml must keep storage.delete.enabled: true")
    if "openshift" not in (cfg.get("auth") or {}):
        out.append("config.yml must keep auth.openshift")
    if not cfg.get("middleware"):
        out.append("config.yml must keep the openshift middleware")
    return out


# kind -> check over the rendered object (messages name the object).
RENDERED_CHECKS: dict[str, Callable[[Obj], list[str]]] = {
    "Config": _check_config,
    "PersistentVolumeClaim": _check_pvc,
    "Secret": _check_registry_config,
}


def check_rendered(objects: list[Obj]) -> list[Diagnostic]:
    out = []
    for obj in objects:
        checker = RENDERED_CHECKS.get(str(obj.get("kind")))
        if checker is None:
            continue
        meta = obj.get("metadata") or {}
        for message in checker(obj):
            out.append(
                Diagnostic(f"{obj.get('kind')}/{meta.get('name')}", message, "rendered", "a template bug")
            )
    return out
