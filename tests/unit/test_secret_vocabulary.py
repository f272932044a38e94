"""One vocabulary of secret-looking names (normalize.SECRET_WORDS, SECRET_SUFFIXES, secret_name) for every
channel: env lists (plan masking, status, snapshots), config.yml keys, free text (``NAME=value`` in a
message) and the ``--set`` words of a generated script's header. The outside check of issue 16 found them
drifted: ``PASSWD`` was secret in message text and in script headers but not in an env list, so
``regplan status -o json`` printed ``MY_PASSWD=...`` and ``SWIFT_AUTH_PW=...`` from a snapshot, and an
``Authorization`` header in a registry config.yml was written into snapshots unredacted."""

from __future__ import annotations

import pytest

from regplan.base import normalize
from regplan.engine import status as statusmod

VALUE = "Zq7vX2mK9pL4"

# (name, secret-looking): each name asked of every channel.
NAMES: list[tuple[str, bool]] = [
    ("REGISTRY_STORAGE_S3_SECRETKEY", True),
    ("MY_PASSWD", True),
    ("HTPASSWD", True),
    ("SWIFT_AUTH_PW", True),
    ("REDIS_PASS", True),
    ("SSH_KEY_PASSPHRASE", True),
    ("REGISTRY_STORAGE_S3_SESSIONTOKEN", True),
    ("REGISTRY_STORAGE_S3_ACCESSKEY_ID", True),
    ("REGISTRY_STORAGE_AZURE_ACCOUNTKEY", True),
    ("CLOUDFRONT_PRIVATE_KEY", True),
    ("DATADOG_API_KEY_VALUE", True),
    ("GCS_CREDENTIALS_JSON", True),
    ("Authorization", True),
    ("REGISTRY_STORAGE_GCS_KEYFILE_JSON", True),
    ("swift.key", True),
    ("REGISTRY_STORAGE_S3_BUCKET", False),
    ("REGISTRY_STORAGE_S3_REGION", False),
    ("REGISTRY_HTTP_ADDR", False),
    ("keyid", False),  # a KMS key id names a key, it is not one
    ("PASSENGER", False),
    ("COMPASS_URL", False),
]


@pytest.mark.parametrize(("name", "secret"), NAMES)
def test_every_channel_agrees_on_a_name(name: str, secret: bool) -> None:
    assert normalize.secret_name(name) is secret
    # env lists: plan masking, status, snapshots
    assert normalize.secret_env(name, VALUE) is secret
    assert (statusmod._redact_env({"name": name, "value": VALUE}) == f"{name}=(redacted)") is secret
    # config.yml keys
    redacted = normalize.redact_config({"storage": {"x": [{name: VALUE}]}})
    assert (redacted["storage"]["x"][0][name] == normalize.REDACTED) is secret
    # the --set words of a generated header
    words = normalize.input_words([], [f"s3.{name}={VALUE}"])
    assert (VALUE not in " ".join(words)) is secret


def _by_a_word(name: str) -> bool:
    return any(w in normalize._folded(name) for w, _ in normalize.SECRET_WORDS)


@pytest.mark.parametrize("name", [n for n, secret in NAMES if secret and _by_a_word(n)])
def test_free_text_redacts_a_value_after_every_secret_word(name: str) -> None:
    """``NAME=value`` in an Event message: the text patterns are built from the same words (a name that
    is secret by its ending only, such as ``SWIFT_AUTH_PW``, is not a pattern of free text: ``KEY=`` in
    prose is too common)."""
    assert VALUE not in normalize.redact_text(f"failed: {name}={VALUE} rejected")


def test_a_password_abbreviation_is_not_found_inside_a_word() -> None:
    """``_pw`` and ``_pass`` count only as the last part of a name: ``PASSENGER``, ``COMPASS`` are not
    secrets, and folding must not glue ``KPW`` out of ``KEY_PW`` either way."""
    assert normalize.secret_name("A_PW") and normalize.secret_name("a_pass")
    assert not normalize.secret_name("APW") and not normalize.secret_name("BYPASS")
