"""Secret values never reach plan text, JSON or plan files, including credentials found in live.

A 3.x DeploymentConfig often carries S3 keys as plain env vars (``REGISTRY_STORAGE_S3_ACCESSKEY`` /
``_SECRETKEY`` override the config file, docs/domain.md). regplan removes every ``REGISTRY_STORAGE*`` env var
it does not set, so the plan lists them as removed fields: their values must not be printed or stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from regplan.base.model import LiveState, Obj, Ref, Target
from regplan.engine.plan import make_plan
from regplan.present.views import plan_text

ACCESS = "AKIALIVEENVSECRET"
SECRET = "liveEnvSecretKeyReview"


class _Rendered:
    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects
        self.target = Target.OCP3
        self.profile = "review"


def _dc(env: list[dict[str, Any]]) -> Obj:
    return {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default", "resourceVersion": "5", "uid": "d"},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "template": {"spec": {"containers": [{"name": "registry", "env": env}], "volumes": []}},
        },
    }


def _desired() -> Obj:
    return {
        "apiVersion": "apps.openshift.io/v1",
        "kind": "DeploymentConfig",
        "metadata": {"name": "docker-registry", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {"containers": [{"name": "registry", "env": [{"name": "P", "value": "/p"}]}]}
            },
        },
    }


def _plan_with_live_env(env: list[dict[str, Any]]) -> Any:
    live = _dc(env)
    state = LiveState(target=Target.OCP3, objects={Ref.of(live): live})
    return make_plan(_Rendered([_desired()]), state)


def test_live_s3_keys_in_dc_env_are_removed_but_never_shown() -> None:
    plan = _plan_with_live_env(
        [
            {"name": "REGISTRY_STORAGE", "value": "s3"},
            {"name": "REGISTRY_STORAGE_S3_ACCESSKEY", "value": ACCESS},
            {"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": SECRET},
        ]
    )
    (write,) = plan.writes
    removed = [op["path"] for op in write.body if op["op"] == "remove"]
    assert len(removed) == 3  # the keys still go: they would override the mounted config file
    text, doc = plan_text(plan), plan.dumps()
    for value in (ACCESS, SECRET):
        assert value not in text
        assert value not in doc
    assert "REGISTRY_STORAGE_S3_SECRETKEY" in text  # the plan still says which variable goes
    fields = {f["path"]: f for c in json.loads(doc)["changes"] for f in c["fields"]}
    assert fields["spec.template.spec.containers[registry].env[REGISTRY_STORAGE_S3_SECRETKEY]"]["sensitive"]
    # a non-secret override is still shown with its value (reviewers need it)
    assert '"s3"' in text


def test_status_redacts_a_secret_env_value_even_when_it_starts_with_a_slash() -> None:
    from regplan.engine import status

    # AWS secret access keys are base64-like and may start with "/": not a file path
    secret = "/wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    assert status._redact_env({"name": "REGISTRY_STORAGE_S3_SECRETKEY", "value": secret}).endswith(
        "(redacted)"
    )
    # a TLS key file setting names where the key is, and stays readable
    shown = status._redact_env({"name": "REGISTRY_HTTP_TLS_KEY", "value": "/etc/secrets/registry.key"})
    assert shown == "REGISTRY_HTTP_TLS_KEY=/etc/secrets/registry.key"


def test_a_secret_pasted_with_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    from regplan.core import rules, values

    f = tmp_path / "v.yaml"
    f.write_text(
        "s3:\n  bucket: abc-def\n  region: us-east-1\n  accessKeyFrom: 98765432\n  secretKeyFrom: [987]\n"
    )
    vals = values.load_values("aws-s3", files=[f], sets=[], profiles_dir=None, environ={})
    _, problems = rules.check(vals, Target.OCP4)
    text = " ".join(str(p) for p in problems)
    assert "s3.accessKeyFrom" in text and "s3.secretKeyFrom" in text  # still named, with file:line
    assert "v.yaml:4" in text
    assert "98765432" not in text and "987" not in text
