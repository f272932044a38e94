"""Issue 10 item 4: one vocabulary of secret-looking names (normalize.SECRET_WORDS, secret_name), used by the
plan's diff masking and by status' redaction alike: for each name both channels hide the value, or both
show it."""

from __future__ import annotations

import pytest

from regplan.base.normalize import normalize
from regplan.engine import status as statusmod
from regplan.engine.diff import diff_objects

NAMES: list[tuple[str, str, bool]] = [
    # (env name, value, hidden)
    ("REGISTRY_STORAGE_S3_ACCESSKEY", "AKIAEXAMPLE", True),
    ("REGISTRY_STORAGE_S3_SECRETKEY", "/starts/with/a/slash", True),  # a key may start with "/"
    ("REGISTRY_STORAGE_AZURE_ACCOUNTKEY", "abc==", True),
    ("REGISTRY_STORAGE_SWIFT_PASSWORD", "pw", True),
    ("REGISTRY_STORAGE_S3_SESSIONTOKEN", "tok", True),
    ("MY_API_KEY", "k", True),  # status hid it, the diff showed it
    ("OAUTH_CLIENT_SECRET", "s", True),  # the diff hid it, status too; both by one row now
    ("registry_storage_s3_secretkey", "lower", True),  # names compare upper-cased in both
    ("REGISTRY_HTTP_TLS_KEY", "/etc/secrets/registry.key", False),  # a path, not a key
    ("REGISTRY_HTTP_TLS_KEY", "-----BEGIN PRIVATE KEY-----", True),  # not a path: the key itself
    ("REGISTRY_STORAGE", "s3", False),
    ("REGISTRY_STORAGE_S3_BUCKET", "bucket", False),
    ("REGISTRY_STORAGE_S3_REGION", "eu-west-1", False),
]


def _dc(env: list[dict[str, str]], rv: str = "") -> dict[str, object]:
    meta: dict[str, str] = {"name": "docker-registry", "namespace": "default"}
    if rv:
        meta["resourceVersion"] = rv
    return {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": meta,
        "spec": {"template": {"spec": {"containers": [{"name": "registry", "env": env}]}}},
    }


@pytest.mark.parametrize(("name", "value", "hidden"), NAMES)
def test_plan_and_status_hide_the_same_names(name: str, value: str, hidden: bool) -> None:
    shown_by_status = statusmod._redact_env({"name": name, "value": value})
    assert (shown_by_status == f"{name}=(redacted)") is hidden
    # the plan: the value changes (old -> new) and is added (create): sensitive exactly when hidden
    live = _dc([{"name": name, "value": value + "-old"}], rv="1")
    changed = diff_objects(normalize(_dc([{"name": name, "value": value}]), live))
    added = diff_objects(normalize(_dc([{"name": name, "value": value}]), None))
    # the value's changes (a created item is listed leaf by leaf; its "name" leaf is the name, shown anyway)
    env_changes = [f for f in (*changed, *added) if "env" in f.path and f.path[-1] != "name"]
    assert env_changes and all(f.sensitive is hidden for f in env_changes), env_changes
