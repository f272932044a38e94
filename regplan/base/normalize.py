"""Diff rules as data: what a live object may carry that must never show as a change, and what must go.

Before two objects are compared (``diff.py``) both pass through ``normalize``. Every rule is one row of
a table below, with the reason it exists, in the spirit of kapp's rebase/ignore/mask rules:

- IGNORE: server-managed bookkeeping (uid, resourceVersion, status, ...) is dropped from both sides.
- REBASE: server- or controller-set fields (a PVC's volumeName, its defaulted class, ...) are copied from
  live into desired when desired leaves them unset, so a full-object body (PUT, plan file) keeps them.
- NAMED_LISTS: lists that Kubernetes merges by ``name`` (DC volumes, containers, mounts, env) become
  ``NamedList`` maps, so "merge by name" and "keep what regplan does not own" fall out of a map diff.
- SET_LISTS: lists whose order carries no meaning (accessModes, finalizers) compare as sets.
- QUANTITIES: resource quantities compare canonically ("100Gi" == "107374182400").
- MASK / SECRET_MASKS: every place a Secret's content can hide (``data``, ``stringData``, annotations,
  managedFields) is masked (digests, or dropped) before anyone can see it.
- REMOVALS: fields regplan does not set but must remove (another backend under ``spec.storage``,
  ``REGISTRY_STORAGE*`` env vars overriding the 3.x config file) are marked ``None`` in desired.

Comparison is left-scoped (diff.py): only what desired holds (plus the ``None`` removals) is compared.
Pure functions over plain dicts; no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from regplan.base import lazyre, plain
from regplan.base.model import Obj
from regplan.base.model import parse_quantity as parse_quantity  # the one quantity grammar
from regplan.base.record import Record

ANY = "*"


class Item(Record, frozen=True):
    """A path segment addressing the element named ``name`` of a NamedList."""

    name: str

    def __str__(self) -> str:
        return f"[{self.name}]"


Segment = str | Item
FieldPath = tuple[Segment, ...]


class NamedList(dict[str, Any]):
    """A list of ``{name: ...}`` items held as a map keyed by name (insertion order = list order)."""


def format_path(path: FieldPath) -> str:
    """``spec.template.spec.containers[registry].env[X]``; keys with dots or slashes are quoted."""
    out = ""
    for seg in path:
        if isinstance(seg, Item):
            out += f"[{seg.name}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", seg):
            out += f".{seg}" if out else seg
        else:
            out += f'["{seg}"]'
    return out


def _match(pattern: tuple[str, ...], path: FieldPath) -> bool:
    """A rule path matches when each segment matches (``*`` = any key or item)."""
    if len(pattern) != len(path):
        return False
    for pat, seg in zip(pattern, path, strict=True):
        name = seg.name if isinstance(seg, Item) else seg
        if pat != ANY and not fnmatch.fnmatchcase(name, pat):
            return False
    return True


def _p(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


# --- the tables ---------------------------------------------------------------------------------


class PathRule(Record, frozen=True):
    kind: str  # object kind, or "*"
    path: tuple[str, ...]  # key segments; "*" matches any key/item; fnmatch patterns allowed
    reason: str


IGNORE: tuple[PathRule, ...] = (
    PathRule(ANY, _p("metadata.uid"), "assigned by the server at creation"),
    PathRule(ANY, _p("metadata.resourceVersion"), "server concurrency token; a precondition, not content"),
    PathRule(ANY, _p("metadata.generation"), "server counter of spec changes"),
    PathRule(ANY, _p("metadata.creationTimestamp"), "set by the server at creation"),
    PathRule(ANY, _p("metadata.deletionTimestamp"), "set by the server on delete (plan reads it from live)"),
    PathRule(ANY, _p("metadata.deletionGracePeriodSeconds"), "set by the server on delete"),
    PathRule(ANY, _p("metadata.managedFields"), "server-side apply bookkeeping"),
    PathRule(ANY, _p("metadata.selfLink"), "legacy server-set link (3.x)"),
    PathRule(
        ANY,
        ("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"),
        "kubectl client bookkeeping",
    ),
    PathRule(ANY, ("status",), "written by controllers, never by regplan"),
)

REBASE: tuple[PathRule, ...] = (
    PathRule("PersistentVolumeClaim", _p("spec.volumeName"), "set by the binder when the claim binds"),
    PathRule(
        "PersistentVolumeClaim",
        _p("spec.storageClassName"),
        "defaulted by admission to the default StorageClass when unset",
    ),
    PathRule("PersistentVolumeClaim", _p("spec.volumeMode"), "defaulted by the server to Filesystem"),
    PathRule(
        "PersistentVolumeClaim",
        ("metadata", "annotations", "pv.kubernetes.io/*"),
        "bind bookkeeping of the PV controller",
    ),
    PathRule(
        "PersistentVolumeClaim",
        ("metadata", "annotations", "volume.kubernetes.io/*"),
        "provisioner hand-off set by the PV controller",
    ),
    PathRule(
        "PersistentVolumeClaim",
        ("metadata", "annotations", "volume.beta.kubernetes.io/*"),
        "provisioner hand-off set by the PV controller (older servers)",
    ),
    PathRule(
        "PersistentVolumeClaim", _p("metadata.finalizers"), "kubernetes.io/pvc-protection, added by admission"
    ),
    PathRule("Secret", ("type",), "defaulted by the server to Opaque"),
    PathRule("Secret", ("metadata", "labels", ANY), "labels others put on the Secret are kept on PUT"),
    PathRule(
        "Secret", ("metadata", "annotations", ANY), "annotations others put on the Secret are kept on PUT"
    ),
)

NAMED_LISTS: tuple[PathRule, ...] = (
    PathRule("DeploymentConfig", _p("spec.template.spec.volumes"), "merge key: name"),
    PathRule("DeploymentConfig", _p("spec.template.spec.containers"), "merge key: name"),
    PathRule("DeploymentConfig", _p("spec.template.spec.initContainers"), "merge key: name"),
    PathRule("DeploymentConfig", ("spec", "template", "spec", "containers", ANY, "env"), "merge key: name"),
    PathRule(
        "DeploymentConfig",
        ("spec", "template", "spec", "containers", ANY, "volumeMounts"),
        "regplan owns mounts by volume name (one mount per volume)",
    ),
)

SET_LISTS: tuple[PathRule, ...] = (
    PathRule("PersistentVolumeClaim", _p("spec.accessModes"), "a set: order carries no meaning"),
    PathRule(ANY, _p("metadata.finalizers"), "a set: order carries no meaning"),
)

QUANTITIES: tuple[PathRule, ...] = (
    PathRule(
        "PersistentVolumeClaim", _p("spec.resources.requests.storage"), "a quantity: 100Gi == 107374182400"
    ),
    PathRule("PersistentVolumeClaim", _p("spec.resources.limits.storage"), "a quantity"),
)

# The words that make a name secret-looking, one row per word with an example: the ONE vocabulary the env
# names, the config.yml keys, the free-text patterns and the hidden ``--set`` values of generated headers
# are all built from (they had drifted apart: ``PASSWD`` was a secret in message text and in headers, not
# in an env list, so ``status -o json`` printed ``MY_PASSWD=...``). Matched as a substring of the name with
# ``_``, ``-`` and ``.`` removed and case ignored (``secret_name``).
SECRET_WORDS: tuple[tuple[str, str], ...] = (
    ("secret", "secret keys, client secrets (REGISTRY_STORAGE_S3_SECRETKEY, *_CLIENT_SECRET, http.secret)"),
    ("password", "passwords (Swift, proxies, Redis)"),
    ("passwd", "passwords spelt the Unix way (HTPASSWD, MY_PASSWD)"),
    ("passphrase", "the passphrase of a key"),
    ("token", "session and bearer tokens (REGISTRY_STORAGE_S3_SESSIONTOKEN)"),
    ("accesskey", "S3 / OSS access key ids, also with a suffix (*_ACCESSKEY_ID)"),
    ("accountkey", "Azure account keys, also with a suffix"),
    ("privatekey", "private keys (CloudFront middleware privatekey, GCS private_key)"),
    ("apikey", "API keys (*_API_KEY, *_APIKEY_VALUE)"),
    ("credential", "inline credentials (REGISTRY_STORAGE_GCS_CREDENTIALS_*)"),
    ("authorization", "an HTTP Authorization header (config.yml notifications endpoints' headers)"),
    ("keyfile", "a GCS key file: its content when given inline (a path is exempt, PATH_ENV_NAMES)"),
)
# Name endings that are secret-looking on their own (after the same folding): a key of any backend
# (REGISTRY_STORAGE_AZURE_ACCOUNTKEY, Swift key / tempurlcontainerkey), a password abbreviated.
SECRET_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("key", "keys of every backend (REGISTRY_STORAGE_AZURE_ACCOUNTKEY, MY_API_KEY, Swift key)"),
    ("_pw", "a password abbreviated (SWIFT_AUTH_PW)"),
    ("_pass", "a password abbreviated (REDIS_PASS)"),
)


def _folded(name: str) -> str:
    return re.sub(r"[_.-]", "", name.lower())


def secret_name(name: Any) -> bool:
    """Does ``name`` (an env var, a config.yml key, a ``--set`` key's last part) name a credential? One
    rule for every channel: a SECRET_WORDS word anywhere in it, or a SECRET_SUFFIXES ending, with case,
    ``_``, ``-`` and ``.`` ignored (the abbreviations keep their ``_``: ``SWIFT_AUTH_PW``, not ``KPW``)."""
    lower = str(name).lower()
    folded = _folded(lower)
    if any(word in folded for word, _ in SECRET_WORDS):
        return True
    return any(
        lower.endswith(end) if end.startswith("_") else folded.endswith(end) for end, _ in SECRET_SUFFIXES
    )


# The free-text form of SECRET_WORDS: a credential's name in a message (``SECRET_KEY=...``), any case, a
# ``_``, ``-`` or ``.`` allowed between two letters of a word as ``secret_name`` ignores them (API_KEY).
_SECRET_WORD_RE = "(?:" + "|".join("[_.-]?".join(map(re.escape, w)) for w, _ in SECRET_WORDS) + ")"

# ... except these, when their value is a path (REGISTRY_HTTP_TLS_KEY=/etc/secrets/registry.key): the
# name says "file", and a path is not a credential. A value's leading "/" alone proves nothing: an AWS
# secret access key may start with one.
PATH_ENV_NAMES: tuple[str, ...] = (
    "*_TLS_KEY",
    "*_TLS_CERTIFICATE",
    "*_TLS_CLIENTCAS_*",
    "*_FILE",
    "*_KEYFILE",
    "*_PATH",
)

ENV_PATH: tuple[str, ...] = ("spec", "template", "spec", "containers", ANY, "env")  # DC env items

# Keys of a registry config.yml (any storage driver, any nesting) whose values are credentials: those
# ``secret_name`` says (the one vocabulary, SECRET_WORDS), and these, which name a credential only in a
# config file: the one rule every channel redacts config.yml with (status, snapshots, fleet files).
CONFIG_SECRET_KEYS: tuple[tuple[str, str], ...] = (
    ("credentials", "GCS inline service-account credentials (the whole mapping)"),
    ("private_key*", "fields of a GCS service-account key"),
)
# Values that are key material whatever their name says (a GCS key file's JSON or a PEM key pasted into an
# env var or a config field): matched as substrings.
SECRET_VALUE_MARKERS: tuple[tuple[str, str], ...] = (
    ("PRIVATE KEY-----", "a PEM private key"),
    ('"private_key"', "a GCS service-account key file (JSON)"),
    ("private_key:", "a GCS service-account key as YAML"),
)
REDACTED = "(redacted)"  # what every channel shows instead of a secret value

# Key material inside free text that regplan did not write and shows (an Event or condition message from
# the cluster, a diagnostic of a hand-edited plan file): one row per pattern, the match replaced by REDACTED
# (``redact_text``). A message quoting a credential (an S3 error naming the access key id, a config dumped
# into an event) must not carry it into a plan, a pull-request comment, a CI log or a committed snapshot.
# Every repetition around a name is bounded ({0,64}): the text is hostile, and an unbounded one backtracks
# quadratically ("secret" * 16,000 took 15 s); each pattern is linear in the text's length.
SECRET_TEXT_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
        "a PEM private key",
    ),
    (r"(?P<keep>\"private_key\"\s*:\s*)\"(?:[^\"\\]|\\.)*\"?", "a GCS service-account key's private_key"),
    (r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])", "an AWS access key id (also glued to other text)"),
    (r"(?P<keep>AccountKey=)[^;\s\"']+", "an Azure storage connection string's account key"),
    (
        r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[0-9])"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
        "an AWS secret access key (40 characters of base64, mixed case and digits: the S3 backend's secret; "
        "a git SHA-1 is lower-case hex, a name lower-case)",
    ),
    (
        r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])",
        "a 64-byte base64 key (an Azure account key)",
    ),
    (
        r"(?i)(?P<keep>\b[A-Za-z0-9_]{0,64}" + _SECRET_WORD_RE + r"[A-Za-z0-9_]{0,64}"
        r"[ \t]*=[ \t]*[\"']?)(?![\"'\s(])[^\s\"',;&}]+",
        "a value after a credential's name and '=' (SECRET_KEY=..., password=...; SECRET_WORDS)",
    ),
    (
        r"(?i)(?P<keep>\"[A-Za-z0-9_]{0,64}" + _SECRET_WORD_RE + r"[A-Za-z0-9_]{0,64}\""
        r"\s*:\s*)\"(?:[^\"\\]|\\.)+\"",
        'a JSON string under a credential\'s name ("secretkey": "...")',
    ),
)
_SECRET_TEXT = tuple(lazyre.Pattern(p, re.DOTALL) for p, _ in SECRET_TEXT_PATTERNS)


def redact_text(text: str) -> str:
    """``text`` (free text from outside: an Event message, a condition message) with every piece of key
    material SECRET_TEXT_PATTERNS finds replaced by REDACTED (a credential's name before its value stays,
    so the reader sees which field it was); the rest of the message stays readable."""
    if not isinstance(text, str):
        return text
    for pattern in _SECRET_TEXT:
        text = pattern.sub(_redact_match, text)
    return text


def outside_text(value: object) -> str:
    """Free text regplan did not write, as a view shows it: an Event's or a condition's reason and message
    from a cluster or a snapshot, a diagnostic or a reason read back from a plan file. Key material in it is
    redacted (``normalize.redact_text``) and it is one line (``one_line``): a line break in it cannot
    print a line of its own, such as a forged summary ("4 cluster(s): 0 with changes ...") in a CI log.
    The engine builds every message that quotes such text with this, never with ``str`` alone."""
    from regplan.base.escape import one_line  # the one terminal rule (escape imports nothing of ours)

    return one_line(redact_text(value if isinstance(value, str) else "" if value is None else str(value)))


# ``--set`` values whose key looks like a secret are shown as this in generated headers. regplan refuses
# secret literals in values (sources only), so this is the second line of defence, not the first.
HIDDEN = "(hidden)"


def input_words(
    files: Sequence[object] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = ()
) -> list[str]:
    """The ``-f``/``--set``/``--set-string`` words a text was rendered from, for its header: file paths
    as given, ``--set`` entries with a secret-looking key's value hidden (``*From`` sources are shown).
    Secret-looking is ``secret_name``: the one vocabulary every channel uses."""
    words: list[str] = []
    for f in files:
        words += ["-f", str(f)]
    for flag, entries in (("--set", sets), ("--set-string", set_strings)):
        for entry in entries:
            key, eq, _ = entry.partition("=")
            leaf = key.rsplit(".", 1)[-1].strip().lower()
            hide = secret_name(leaf) and not leaf.endswith("from")
            words += [flag, f"{key}={HIDDEN}" if hide and eq else (HIDDEN if hide else entry)]
    return words


def quoted_redacted(text: str) -> str:
    """Text from outside that may hold a secret value (an Argo CD parameter, a plan file's string, a value
    under the wrong key) quoted in a message: its key material redacted (``redact_text``), then quoted by
    the one rule (``escape.quoted``)."""
    from regplan.base.escape import quoted

    return quoted(redact_text(text))


def _redact_match(m: re.Match[str]) -> str:
    return (m.groupdict().get("keep") or "") + REDACTED


def secret_value(value: Any) -> bool:
    """Does ``value`` itself look like key material (SECRET_VALUE_MARKERS, or a SECRET_TEXT_PATTERNS match:
    an AWS access key id in an env var of any name is a credential too)?"""
    return isinstance(value, str) and (
        any(marker in value for marker, _ in SECRET_VALUE_MARKERS)
        or any(pattern.search(value) for pattern in _SECRET_TEXT)
    )


def secret_env(name: str, value: Any = None) -> bool:
    """Is the env var ``name`` (with ``value``) a credential whose value nobody may see?"""
    if secret_value(value):
        return True
    upper = name.upper()
    if not secret_name(name):
        return False
    is_path = isinstance(value, str) and value.startswith("/")
    return not (is_path and any(fnmatch.fnmatchcase(upper, p) for p in PATH_ENV_NAMES))


def secret_config_key(key: Any) -> bool:
    """Is ``key`` of a registry config.yml (or of a Config's storage section) a credential?"""
    lower = str(key).lower()
    return secret_name(lower) or any(fnmatch.fnmatchcase(lower, pattern) for pattern, _ in CONFIG_SECRET_KEYS)


def redact_config(node: Any) -> Any:
    """A copy of a registry config.yml document (or a part of one) with every credential replaced by
    REDACTED: values under CONFIG_SECRET_KEYS at any depth, in mappings and in lists, and any value that
    looks like key material. The structure stays, so a reader sees which fields are set."""
    if isinstance(node, dict):
        return {k: REDACTED if secret_config_key(k) else redact_config(v) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_config(v) for v in node]
    return REDACTED if secret_value(node) else node


def redact_env(env: Any) -> Any:
    """A copy of a container's ``env`` list with the values of secret-looking variables (secret_env)
    replaced by REDACTED; ``valueFrom`` references stay (they name a Secret, not its content)."""
    if not isinstance(env, list):
        return env
    out = []
    for e in env:
        if isinstance(e, dict) and "value" in e and secret_env(str(e.get("name")), e.get("value")):
            e = {**e, "value": REDACTED}
        out.append(e)
    return out


MASK: tuple[PathRule, ...] = (
    PathRule("Secret", ("data", ANY), "secret value: compared and shown by digest only"),
    PathRule("Secret", ("stringData", ANY), "secret value: merged into data by the server"),
    PathRule("Secret", ("metadata", "annotations", ANY), "may hold secret content (SECRET_MASKS)"),
    PathRule(
        "DeploymentConfig",
        (*ENV_PATH, ANY),
        "an env var whose name is secret-looking (SECRET_WORDS; see secret_env)",
    ),
)


class RemovalRule(Record, frozen=True):
    """Keys under ``container`` in live, matching ``pattern``, that desired does not set, are removed.

    ``container`` segments name map keys or NamedList items; ``*`` stands for each key desired holds
    there. ``only_if`` (path, value) limits the rule to a desired object that sets path to a value other
    than the one given (e.g. drop ``rollingParams`` only when the strategy stops being Rolling).
    """

    kind: str
    container: tuple[str, ...]
    pattern: str
    keep: tuple[str, ...]
    reason: str
    only_if: tuple[tuple[str, ...], str] | None = None


REMOVALS: tuple[RemovalRule, ...] = (
    RemovalRule(
        "Secret",
        ("data",),
        "*",
        (),
        "regplan owns the Secret whole: its update is a PUT that replaces data, so a key regplan does not "
        "set is removed, and the plan must say so",
    ),
    RemovalRule(
        "Config",
        _p("spec.storage"),
        "*",
        ("managementState",),
        "the operator accepts exactly one storage backend under spec.storage",
    ),
    RemovalRule(
        "DeploymentConfig",
        ("spec", "template", "spec", "containers", "registry", "env"),
        "REGISTRY_STORAGE*",
        (),
        "a REGISTRY_STORAGE* env var overrides the mounted registry config file",
    ),
    RemovalRule(
        "DeploymentConfig",
        ("spec", "template", "spec", "volumes", ANY),
        "*",
        ("name",),
        "a volume has exactly one source: a claim replacing emptyDir removes emptyDir",
    ),
    RemovalRule(
        "DeploymentConfig",
        ("spec", "strategy"),
        "rollingParams",
        (),
        "rollingParams are only valid with the Rolling strategy",
        only_if=(("spec", "strategy", "type"), "Rolling"),
    ),
)


# --- quantities -----------------------------------------------------------------------------------

# parse_quantity: the one grammar, model.parse_quantity (imported above)


def _applies(rules: tuple[PathRule, ...], kind: str, path: FieldPath) -> bool:
    """Does a row of ``rules`` cover this field of this kind? (Asked for every field of every object a
    plan compares, the same fields again for each cluster of a workspace: the answers are kept, at most
    ``_APPLIES_KEPT`` of them; the tables are constants, so a kept answer is the answer.)"""
    key = (id(rules), kind, path)
    kept = _applies_kept.get(key)
    if kept is not None and kept[0] is rules:  # the entry holds its table: its id is not reused
        return kept[1]
    found = any(r.kind in (ANY, kind) and _match(r.path, path) for r in rules)
    if len(_applies_kept) >= _APPLIES_KEPT:
        _applies_kept.clear()  # bounded: a strange object's many fields cannot grow it
    _applies_kept[key] = (rules, found)
    return found


_APPLIES_KEPT = 8192
_applies_kept: dict[tuple[int, str, FieldPath], tuple[tuple[PathRule, ...], bool]] = {}


def is_quantity_path(kind: str, path: FieldPath) -> bool:
    return _applies(QUANTITIES, kind, path)


def is_set_path(kind: str, path: FieldPath) -> bool:
    return _applies(SET_LISTS, kind, path)


def _env_value(value: Any) -> Any:
    return value.get("value") if isinstance(value, dict) else value


def is_masked_path(kind: str, path: FieldPath, *values: Any) -> bool:
    """Is this field, or one it lies under, masked (MASK)? ``values`` (old and new, when known) decide
    the path exception of an env var (secret_env)."""
    for n in range(1, len(path) + 1):
        head = path[:n]
        if not _applies(MASK, kind, head):
            continue
        if kind == "DeploymentConfig" and _match((*ENV_PATH, ANY), head):
            seg = head[-1]
            name = seg.name if isinstance(seg, Item) else seg
            if n < len(path) and path[n] == "name":
                continue  # the name is in the path already; only the value hides
            inner = [_env_value(v) for v in values]  # at the item ({name, value}) or at its .value
            if not any(secret_env(name, v) for v in inner or [None]):
                continue
        return True
    # A named list regplan could not key by name (two env vars of one name - the API allows it - or an item
    # without a name) is compared whole, and so is whatever holds it: a value with a secret env var anywhere
    # inside is masked whole rather than printed with the credential in it.
    return any(holds_secret_env(v) for v in values)


def holds_secret_env(value: Any) -> bool:
    """Does ``value`` hold, at any depth, an env var item (``{name, value}``) whose value is a credential
    (secret_env)?"""
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and "value" in value and secret_env(name, value.get("value")):
            return True
        return any(holds_secret_env(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_secret_env(v) for v in value)
    return False


def equal(kind: str, path: FieldPath, desired: Any, live: Any) -> bool:
    """Equality as the server means it for this field (quantities canonical, sets unordered)."""
    if is_quantity_path(kind, path):
        a, b = parse_quantity(desired), parse_quantity(live)
        if a is not None and b is not None:
            return a == b
    if is_set_path(kind, path) and isinstance(desired, list) and isinstance(live, list):
        return sorted(map(str, desired)) == sorted(map(str, live))
    if isinstance(desired, bool) or isinstance(live, bool):
        return type(desired) is type(live) and desired == live
    return bool(desired == live)


# --- secrets --------------------------------------------------------------------------------------


def digest_bytes(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def secret_digests(secret: Obj) -> dict[str, str]:
    """Key -> digest of the decoded value, ``stringData`` merged over ``data`` as the server does."""
    out: dict[str, str] = {}
    for key, value in sorted((secret.get("data") or {}).items()):
        try:
            raw = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raw = str(value).encode()  # not base64: the server would refuse it; still never show it
        out[key] = digest_bytes(raw)
    for key, value in sorted((secret.get("stringData") or {}).items()):
        out[key] = digest_bytes(str(value).encode())
    return out


class SecretMask(Record, frozen=True):
    """One place a Secret's content can hide, and what masking does there: ``data`` (values become
    digests of the decoded bytes, ``stringData`` merged in as the server does), ``digest`` (each value
    becomes the digest of its text) or ``drop`` (the field goes)."""

    path: tuple[str, ...]  # "*" matches any key
    how: str
    reason: str


SECRET_MASKS: tuple[SecretMask, ...] = (
    SecretMask(("data", ANY), "data", "the Secret's values (base64): shown and compared by digest only"),
    SecretMask(("stringData", ANY), "data", "plain values the server merges into data"),
    SecretMask(
        ("metadata", "annotations", ANY),
        "digest",
        "free text that tools fill with content: kubectl.kubernetes.io/last-applied-configuration holds "
        "the whole applied Secret (its data, base64, old keys included), openshift.io/token-secret.value "
        "a token",
    ),
    SecretMask(
        ("metadata", "managedFields"),
        "drop",
        "server-side apply bookkeeping; its fieldsV1 names every data key",
    ),
)


_DIGEST = lazyre.Pattern(r"sha256:[0-9a-f]{64}")


def is_digest(value: Any) -> bool:
    """Is ``value`` a digest as masking writes it (``sha256:`` and 64 hex digits)?"""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def _mask_at(node: Any, path: tuple[str, ...], how: str) -> None:
    """Apply one ``digest``/``drop`` row of SECRET_MASKS in place under ``node``."""
    if not isinstance(node, dict) or not path:
        return
    head, rest = path[0], path[1:]
    for key in [k for k in node if fnmatch.fnmatchcase(str(k), head)]:
        if rest:
            _mask_at(node[key], rest, how)
        elif how == "drop":
            del node[key]
        elif node[key] is not None and not _DIGEST.fullmatch(str(node[key])):
            # a digest stays itself: masking a loaded (already masked) plan again changes nothing
            node[key] = digest_bytes(str(node[key]).encode())


def mask_secret(secret: Obj) -> Obj:
    """A copy of a Secret with every row of SECRET_MASKS applied: safe to show, store and compare."""
    masked = copy.deepcopy(secret)
    masked.pop("stringData", None)
    if secret.get("data") or secret.get("stringData"):
        masked["data"] = secret_digests(secret)
    for row in SECRET_MASKS:
        if row.how != "data":
            _mask_at(masked, row.path, row.how)
    return masked


# --- named lists --------------------------------------------------------------------------------


def _named(kind: str, path: FieldPath, value: Any) -> Any:
    """Recursively turn the NAMED_LISTS paths of ``value`` into NamedList maps."""
    if isinstance(value, dict):
        out = NamedList() if isinstance(value, NamedList) else {}
        for k, v in value.items():
            seg: Segment = Item(k) if isinstance(value, NamedList) else k
            out[k] = _named(kind, (*path, seg), v)
        return out
    if isinstance(value, list) and _applies(NAMED_LISTS, kind, path):
        names = [i.get("name") for i in value if isinstance(i, dict)]
        if (
            len(names) == len(value)
            and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names)
        ):
            nl = NamedList()
            for item in value:
                nl[item["name"]] = _named(kind, (*path, Item(item["name"])), item)
            return nl
    return value


def denormalize(value: Any) -> Any:
    """Back to API form: NamedList -> list (in order), ``None`` removals dropped."""
    if isinstance(value, NamedList):
        return [denormalize(v) for v in value.values() if v is not None]
    if isinstance(value, dict):
        return {k: denormalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [denormalize(v) for v in value]
    return value


# --- the passes ---------------------------------------------------------------------------------


def _drop(kind: str, obj: Any, path: FieldPath, rules: tuple[PathRule, ...]) -> Any:
    if not isinstance(obj, dict):
        return obj
    out = NamedList() if isinstance(obj, NamedList) else {}
    for k, v in obj.items():
        seg: Segment = Item(k) if isinstance(obj, NamedList) else k
        sub = (*path, seg)
        if _applies(rules, kind, sub):
            continue
        out[k] = _drop(kind, v, sub, rules)
    return out


def _get(obj: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return None
        obj = obj[k]
    return obj


def _rebase(kind: str, desired: Any, live: Any, path: FieldPath) -> None:
    """Copy REBASE fields from live into desired where desired leaves them unset (in place)."""
    if not isinstance(desired, dict) or not isinstance(live, dict):
        return
    for k, lv in live.items():
        seg: Segment = Item(k) if isinstance(live, NamedList) else k
        sub = (*path, seg)
        if k not in desired:
            if _applies(REBASE, kind, sub):
                desired[k] = copy.deepcopy(lv)
        elif desired[k] is not None:
            _rebase(kind, desired[k], lv, sub)
    # A map that desired lacks entirely but whose rebase rules match below it (metadata.annotations)
    for r in REBASE:
        if r.kind not in (ANY, kind) or len(r.path) != len(path) + 2:
            continue
        head = r.path[: len(path) + 1]
        for k, lv in live.items():
            if k in desired or not isinstance(lv, dict) or not _match(head, (*path, k)):
                continue
            kept = {ck: cv for ck, cv in lv.items() if _match(r.path, (*path, k, ck))}
            if kept:
                desired.setdefault(k, {}).update(copy.deepcopy(kept))


def _containers(
    desired: Any, live: Any, keys: tuple[str, ...]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Pairs (desired map, live map) at ``keys``, ``*`` expanded over the keys desired holds."""
    if not keys:
        return [(desired, live)] if isinstance(desired, dict) and isinstance(live, dict) else []
    if not isinstance(desired, dict) or not isinstance(live, dict):
        return []
    head, rest = keys[0], keys[1:]
    names = list(desired) if head == ANY else [head]
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for name in names:
        if name in desired and name in live and desired[name] is not None:
            out.extend(_containers(desired[name], live[name], rest))
    return out


def _removals(kind: str, desired: Obj, live: Obj) -> None:
    """Mark with ``None`` the keys REMOVALS says desired must delete (in place).

    A container desired does not reach into (a DC patch without the registry container) is not owned,
    so nothing under it is removed.
    """
    for rule in REMOVALS:
        if rule.kind != kind:
            continue
        if rule.only_if is not None:
            value = _get(desired, rule.only_if[0])
            if value is None or value == rule.only_if[1]:
                continue
        for d_map, l_map in _containers(desired, live, rule.container):
            for key in l_map:
                if key in d_map or key in rule.keep or not fnmatch.fnmatchcase(key, rule.pattern):
                    continue
                d_map[key] = None


class Normalized(Record, frozen=True):
    """Both sides of one comparison, ready for ``diff.diff_objects``."""

    kind: str
    desired: Obj  # rebased, named lists as maps, secret values as digests, None = remove
    live: Obj | None  # None when the object does not exist


def normalize(desired: Obj, live: Obj | None) -> Normalized:
    """Apply every table to one (desired, live) pair. Inputs are not modified."""
    kind = str(desired.get("kind", ""))
    d = plain.copied(desired)  # copy.deepcopy's copy, faster (every object of every cluster's plan)
    lv = plain.copied(live) if live is not None else None
    if kind == "Secret":
        d = mask_secret(d)
        lv = mask_secret(lv) if lv is not None else None
    d = _drop(kind, _named(kind, (), d), (), IGNORE)
    if lv is None:
        return Normalized(kind, d, None)
    lv = _drop(kind, _named(kind, (), lv), (), IGNORE)
    _rebase(kind, d, lv, ())
    _removals(kind, d, lv)
    return Normalized(kind, d, lv)


def rebased_body(desired: Obj, live: Obj) -> Obj:
    """The full body a PUT sends: desired plus the REBASE fields of live, in API form (secrets intact)."""
    kind = str(desired.get("kind", ""))
    d = _named(kind, (), copy.deepcopy(desired))
    _rebase(kind, d, _named(kind, (), copy.deepcopy(live)), ())
    body: Obj = denormalize(d)
    return body
