"""Cluster adapter logic without a cluster: paths, redaction, error mapping, retry decisions, reads.

The REST transport is faked (``fakes.FakeRest``: the client's ``RESTClientObject.request``), so
``Cluster``'s own status handling, retry policy and request counting run for real.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest
import urllib3
from fakes import FakeResp, make, status

from regplan import cluster as c
from regplan.base.errors import ClusterError, DestructiveRefused, InvalidInput, StaleError
from regplan.base.model import LiveQuery, PatchType, Ref, Target, Verb, Write

PVC = Ref("v1", "PersistentVolumeClaim", "openshift-image-registry", "image-registry-storage")
CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
DC = Ref("apps.openshift.io/v1", "DeploymentConfig", "default", "docker-registry")


# ---- pure helpers --------------------------------------------------------------------------------


def test_paths_for_core_crd_and_cluster_scoped() -> None:
    assert (
        c.ref_path(PVC)
        == "/api/v1/namespaces/openshift-image-registry/persistentvolumeclaims/image-registry-storage"
    )
    assert c.ref_path(CONFIG) == "/apis/imageregistry.operator.openshift.io/v1/configs/cluster"
    assert c.resource_path("apps.openshift.io/v1", "DeploymentConfig", "default") == (
        "/apis/apps.openshift.io/v1/namespaces/default/deploymentconfigs"
    )
    with pytest.raises(InvalidInput):
        c.resource_path("v1", "Widget", "x", "y")
    with pytest.raises(InvalidInput, match="needs a namespace"):
        c.resource_path("v1", "Secret", "", "s")


def test_describe_names_resource_and_namespace() -> None:
    assert c.describe(CONFIG.api_version, "Config", "", "cluster") == (
        'configs.imageregistry.operator.openshift.io "cluster" (cluster-scoped)'
    )
    assert c.describe("v1", "Secret", "ns", "s") == 'secrets "s" in namespace ns'


def test_redact_removes_known_values_base64_runs_and_echoed_values() -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    b64 = base64.b64encode(secret.encode()).decode()
    text = (
        f'Secret "x" is invalid: data[k]: Invalid value: "{key}", body {{"data":{{"k":"{b64}"}}}} id {secret}'
    )
    out = c.redact(text, [key])
    assert key not in out and secret not in out and b64 not in out
    assert 'Secret "x" is invalid' in out


def test_secret_strings_finds_data_values_and_decodings() -> None:
    body = {
        "kind": "Secret",
        "data": {"A": base64.b64encode(b"topsecretvalue").decode()},
        "stringData": {"B": "plain"},
    }
    found = c.secret_strings(body)
    assert "topsecretvalue" in found and "plain" in found
    ops = [{"op": "replace", "path": "/data/A", "value": "c2VjcmV0"}]
    assert "c2VjcmV0" in c.secret_strings(ops)


@pytest.mark.parametrize(
    ("code", "cls", "words"),
    [
        (401, c.ApiError, ["unauthorized", "get", 'configs.imageregistry.operator.openshift.io "cluster"']),
        (403, c.ApiError, ["forbidden (403)", "cannot get", "cluster-scoped", 'User "limited"']),
        (409, c.ConflictError, ["conflict (409)"]),
        (503, c.TransientError, ["HTTP 503"]),
        (422, c.ApiError, ["HTTP 422", "Invalid"]),
    ],
)
def test_error_for_maps_status_to_exit_class(code: int, cls: type[Exception], words: list[str]) -> None:
    payload = {
        "kind": "Status",
        "message": 'User "limited" cannot get resource',
        "reason": "Invalid" if code == 422 else "",
    }
    err = c.error_for(
        code, payload, b"", method="GET", what=c.describe(CONFIG.api_version, "Config", "", "cluster")
    )
    assert isinstance(err, cls)
    for word in words:
        assert word in str(err)
    assert "\n" not in str(err)
    assert err.exit_code == (5 if code == 409 else 4)


def test_write_landed_decisions() -> None:
    live = {
        "metadata": {"uid": "u1", "resourceVersion": "7"},
        "spec": {"storage": {"pvc": {"claim": "r"}}, "replicas": 1},
    }
    merge = Write(
        CONFIG,
        Verb.PATCH,
        body={"metadata": {"resourceVersion": "6"}, "spec": {"storage": {"s3": None, "pvc": {"claim": "r"}}}},
        patch_type=PatchType.MERGE,
    )
    assert c.write_landed(merge, live)
    not_yet = Write(CONFIG, Verb.PATCH, body={"spec": {"replicas": 2}}, patch_type=PatchType.MERGE)
    assert not c.write_landed(not_yet, live)
    jp = Write(
        CONFIG,
        Verb.PATCH,
        patch_type=PatchType.JSON,
        body=[
            {"op": "test", "path": "/metadata/resourceVersion", "value": "6"},
            {"op": "remove", "path": "/spec/storage/s3"},
            {"op": "add", "path": "/spec/storage/pvc", "value": {"claim": "r"}},
        ],
    )
    assert c.write_landed(jp, live)
    assert not c.write_landed(jp, {**live, "spec": {"storage": {"s3": {}, "pvc": {"claim": "r"}}}})
    assert c.write_landed(Write(PVC, Verb.CREATE, body={}), {"metadata": {}})
    assert not c.write_landed(Write(PVC, Verb.CREATE, body={}), None)
    assert c.write_landed(Write(PVC, Verb.DELETE, uid="u1"), None)
    assert c.write_landed(
        Write(PVC, Verb.DELETE, uid="u1"), {"metadata": {"uid": "u1", "deletionTimestamp": "t"}}
    )
    assert not c.write_landed(Write(PVC, Verb.DELETE, uid="u1"), {"metadata": {"uid": "u1"}})


def test_pods_mounting_ignores_finished_pods() -> None:
    pods = [
        {"metadata": {"name": "b"}, "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]}},
        {"metadata": {"name": "a"}, "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]}},
        {
            "metadata": {"name": "done"},
            "status": {"phase": "Succeeded"},
            "spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "c"}}]},
        },
        {"metadata": {"name": "x"}, "spec": {"volumes": [{"emptyDir": {}}]}},
    ]
    assert c.pods_mounting(pods) == {"c": ["a", "b"]}


# ---- Cluster over a fake transport ---------------------------------------------------------------


def test_get_returns_none_on_404_and_counts_requests() -> None:
    cl, _ = make(lambda m, u, b: status(404, "not found", "NotFound"))
    assert cl.get(PVC) is None
    assert cl.requests.counts["GET"] == 1 and cl.requests.writes == 0


def test_get_retries_transient_errors_then_succeeds() -> None:
    answers = [
        status(503, "unavailable"),
        urllib3.exceptions.ProtocolError("Connection reset by peer"),
        FakeResp(200, {"kind": "PersistentVolumeClaim", "metadata": {"name": "x"}}),
    ]
    cl, api = make(lambda m, u, b: answers.pop(0), attempts=4)
    assert cl.get(PVC) == {"kind": "PersistentVolumeClaim", "metadata": {"name": "x"}}
    assert len(api.sent) == 3


def test_get_gives_up_after_attempts_with_cluster_error() -> None:
    cl, api = make(lambda m, u, b: status(503, "unavailable"), attempts=2)
    with pytest.raises(ClusterError, match="HTTP 503"):
        cl.get(PVC)
    assert len(api.sent) == 2


def test_unreachable_is_one_clear_line() -> None:
    err = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )  # type: ignore[arg-type]
    cl, _ = make(lambda m, u, b: err, attempts=1)
    with pytest.raises(ClusterError) as exc:
        cl.get(CONFIG)
    assert str(exc.value) == (
        "cannot reach the cluster at https://127.0.0.1:6443 to get "
        'configs.imageregistry.operator.openshift.io "cluster" (cluster-scoped): connection refused'
    )


def test_forbidden_is_not_retried() -> None:
    cl, api = make(lambda m, u, b: status(403, 'configs "cluster" is forbidden: User "limited" cannot get'))
    with pytest.raises(c.ApiError, match="forbidden"):
        cl.get(CONFIG)
    assert len(api.sent) == 1


def test_conflict_on_write_is_never_retried() -> None:
    cl, api = make(lambda m, u, b: status(409, "the object has been modified", "Conflict"))
    with pytest.raises(StaleError, match="conflict"):
        cl.write(Write(CONFIG, Verb.PATCH, body={"spec": {}}, patch_type=PatchType.MERGE))
    assert len(api.sent) == 1


def test_write_with_lost_answer_rereads_and_does_not_resend_when_landed() -> None:
    calls: list[str] = []

    def handler(method: str, url: str, body: Any) -> Any:
        calls.append(method)
        if method == "POST":
            return urllib3.exceptions.ProtocolError("Connection reset by peer")
        return FakeResp(200, {"metadata": {"name": "image-registry-storage", "uid": "new"}})

    cl, _ = make(handler)
    out = cl.write(Write(PVC, Verb.CREATE, body={"metadata": {"name": "image-registry-storage"}}))
    assert out is not None and out["metadata"]["uid"] == "new"
    assert calls == ["POST", "GET"]


def test_write_with_lost_answer_resends_when_not_landed() -> None:
    calls: list[str] = []

    def handler(method: str, url: str, body: Any) -> Any:
        calls.append(method)
        if method == "POST" and calls.count("POST") == 1:
            return status(503, "unavailable")
        if method == "GET":
            return status(404, "nf", "NotFound")
        return FakeResp(201, {"metadata": {"uid": "new"}})

    cl, _ = make(handler)
    cl.write(Write(PVC, Verb.CREATE, body={"metadata": {"name": "image-registry-storage"}}))
    assert calls == ["POST", "GET", "POST"]


def test_write_bodies_carry_preconditions_and_content_types() -> None:
    cl, api = make(lambda m, u, b: FakeResp(200, {}))
    secret = Ref("v1", "Secret", "openshift-image-registry", "s")
    cl.write(Write(secret, Verb.UPDATE, body={"metadata": {"name": "s"}, "data": {}}, resource_version="41"))
    cl.write(Write(PVC, Verb.DELETE, uid="u", resource_version="42"))
    cl.write(
        Write(DC, Verb.PATCH, body=[{"op": "remove", "path": "/spec/strategy"}], patch_type=PatchType.JSON)
    )
    cl.write(Write(CONFIG, Verb.PATCH, body={"spec": {}}, patch_type=PatchType.MERGE), dry_run=True)
    put, delete, jpatch, mpatch = api.sent
    assert put[0] == "PUT" and put[2]["metadata"]["resourceVersion"] == "41"
    assert delete[2]["preconditions"] == {"uid": "u", "resourceVersion": "42"}
    assert jpatch[3]["Content-Type"] == "application/json-patch+json"
    assert put[3]["User-Agent"].startswith("regplan/") and put[3]["authorization"] == "Bearer t0ken"
    assert mpatch[3]["Content-Type"] == "application/merge-patch+json" and "dryRun=All" in mpatch[1]
    assert "dryRun" not in jpatch[1]


def test_secret_values_never_reach_error_messages() -> None:
    value = base64.b64encode(b"my-very-secret-access-key-123").decode()

    def handler(method: str, url: str, body: Any) -> Any:
        return status(
            422,
            f'Secret "s" is invalid: data: {json.dumps(body)} Invalid value: "my-very-secret-access-key-123"',
        )

    cl, _ = make(handler)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "n"},
        "data": {"K": value},
    }
    with pytest.raises(c.ApiError) as exc:
        cl.write(Write(Ref.of(secret), Verb.CREATE, body=secret, secret=True))
    assert value not in str(exc.value) and "my-very-secret-access-key-123" not in str(exc.value)


def test_dry_run_turns_refusals_into_diagnostics_and_skips_replace_create() -> None:
    def handler(method: str, url: str, body: Any) -> Any:
        assert "dryRun=All" in url
        if method == "PATCH":
            return status(422, 'spec.rolloutStrategy: Invalid value: "Sideways"', "Invalid")
        return FakeResp(200, {})

    cl, api = make(handler)
    writes = [
        Write(PVC, Verb.DELETE, uid="u", resource_version="1", wait_gone=True),
        Write(PVC, Verb.CREATE, body={"metadata": {"name": "image-registry-storage"}}),
        Write(CONFIG, Verb.PATCH, body={"spec": {"rolloutStrategy": "Sideways"}}, patch_type=PatchType.MERGE),
    ]
    diags = cl.dry_run(writes)
    assert [d.key for d in diags] == [str(CONFIG)]
    assert "would refuse" in diags[0].message and diags[0].origin == "server dry-run"
    assert sorted(m for m, *_ in api.sent) == ["DELETE", "PATCH"]


def test_read_answers_query_with_bounded_requests() -> None:
    def handler(method: str, url: str, body: Any) -> Any:
        if "/storageclasses/gp2" in url:
            return FakeResp(200, {"metadata": {"name": "gp2"}, "provisioner": "kubernetes.io/aws-ebs"})
        if "/events" in url:
            query = urllib.parse.parse_qs(url.split("?", 1)[1])
            assert query["fieldSelector"] == [
                "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=image-registry-storage"
            ]
            return FakeResp(
                200,
                {
                    "items": [
                        {"reason": "B", "lastTimestamp": "2026-01-02T00:00:00Z"},
                        {"reason": "A", "lastTimestamp": "2026-01-01T00:00:00Z"},
                    ]
                },
            )
        if url.endswith("/pods"):
            return FakeResp(
                200,
                {
                    "items": [
                        {
                            "metadata": {"name": "image-registry-1"},
                            "spec": {
                                "volumes": [
                                    {"persistentVolumeClaim": {"claimName": "image-registry-storage"}}
                                ]
                            },
                        }
                    ]
                },
            )
        if url.endswith("/configs/cluster"):
            return FakeResp(200, {"kind": "Config", "metadata": {"name": "cluster"}})
        return status(404, "nf", "NotFound")

    cl, api = make(handler)
    query = LiveQuery(
        target=Target.OCP4,
        refs=(CONFIG, PVC),
        storage_classes=("gp2", "missing"),
        claims=(("openshift-image-registry", "image-registry-storage"),),
    )
    live = cl.read(query)
    assert set(live.objects) == {CONFIG}
    assert set(live.storage_classes) == {"gp2"}
    assert [e["reason"] for e in live.events[PVC]] == ["A", "B"]
    assert live.pods_using_claim == {"image-registry-storage": ["image-registry-1"]}
    assert live.server_dry_run is True
    assert len(api.sent) == 6  # 2 objects + 2 classes + events + pods, whatever the cluster holds


def test_detect_target() -> None:
    def ocp3(method: str, url: str, body: Any) -> Any:
        if url.startswith("/apis/imageregistry.operator.openshift.io"):
            return status(404, "nf")
        return FakeResp(200, {"kind": "X"})

    assert make(lambda m, u, b: FakeResp(200, {"kind": "APIGroup"}))[0].detect_target() is Target.OCP4
    assert make(ocp3)[0].detect_target() is Target.OCP3
    with pytest.raises(InvalidInput, match="neither"):
        make(lambda m, u, b: status(404, "nf"))[0].detect_target()


def test_load_configuration_reports_missing_kubeconfig(tmp_path: Any) -> None:
    with pytest.raises(ClusterError, match="kubeconfig not found"):
        c._load_configuration(str(tmp_path / "nope"), None)


def test_load_configuration_merges_several_files(tmp_path: Any) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "one",
                "clusters": [{"name": "c1", "cluster": {"server": "https://one.example:6443"}}],
                "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1"}}],
                "users": [{"name": "u1", "user": {"token": "t1"}}],
            }
        )
    )
    b.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c2", "cluster": {"server": "https://two.example:6443"}}],
                "contexts": [{"name": "two", "context": {"cluster": "c2", "user": "u2"}}],
                "users": [{"name": "u2", "user": {"token": "t2"}}],
            }
        )
    )
    import os

    joined = f"{a}{os.pathsep}{b}"
    assert c._load_configuration(joined, None).host == "https://one.example:6443"
    cfg = c._load_configuration(joined, "two")
    assert cfg.host == "https://two.example:6443"
    assert cfg.verify_ssl is True
    assert cfg.auth_settings()["BearerToken"]["value"] == "Bearer t2"


# ---- the per-kind write policy: the adapter's last line of defence ---------------------------------------

DC = Ref("apps.openshift.io/v1", "DeploymentConfig", "default", "docker-registry")
SECRET = Ref("v1", "Secret", "openshift-image-registry", "image-registry-private-configuration-user")
LEASE = Ref("coordination.k8s.io/v1", "Lease", "openshift-image-registry", "regplan-apply")
SC = Ref("storage.k8s.io/v1", "StorageClass", "", "gp2")


@pytest.mark.parametrize(
    ("write", "refusal", "words"),
    [
        (Write(CONFIG, Verb.DELETE, uid="u", resource_version="1"), DestructiveRefused, "never deletes"),
        (Write(DC, Verb.DELETE, uid="u", resource_version="1"), DestructiveRefused, "never deletes"),
        (Write(CONFIG, Verb.CREATE, body={}), InvalidInput, "does not create"),
        (Write(CONFIG, Verb.UPDATE, body={}, resource_version="1"), InvalidInput, "does not update"),
        (Write(CONFIG, Verb.PATCH, body=[], patch_type=PatchType.JSON), InvalidInput, "merge patch only"),
        (Write(DC, Verb.PATCH, body={}, patch_type=PatchType.MERGE), InvalidInput, "json patch only"),
        (Write(SECRET, Verb.PATCH, body={}, patch_type=PatchType.MERGE), InvalidInput, "does not patch"),
        (Write(PVC, Verb.UPDATE, body={}, resource_version="1"), InvalidInput, "does not update"),
        (Write(SC, Verb.DELETE), InvalidInput, "never writes StorageClass"),
    ],
    ids=[
        "config-delete",
        "dc-delete",
        "config-create",
        "config-put",
        "config-json-patch",
        "dc-merge-patch",
        "secret-patch",
        "pvc-put",
        "storageclass",
    ],
)
def test_write_policy_refuses_before_any_request(write: Write, refusal: type[Exception], words: str) -> None:
    cl, api = make(lambda m, u, b: FakeResp(200, {}))
    for dry_run in (False, True):
        with pytest.raises(refusal, match=words):
            cl.write(write, dry_run=dry_run)
    with pytest.raises(refusal):
        cl.dry_run([write])
    assert api.sent == []


def test_config_and_dc_are_never_deleted_whatever_a_plan_says() -> None:
    """A hand-edited plan that turns Config/cluster into delete + create stops at the adapter (exit 6)."""
    from regplan.engine import apply as ap
    from regplan.engine.plan import Action, ObjectChange, Plan

    def server(method: str, url: str, body: Any) -> FakeResp:
        if method in ("POST", "PUT"):  # the Lease: echoed back as stored
            return FakeResp(
                200, {**body, "metadata": {**body["metadata"], "uid": "l", "resourceVersion": "2"}}
            )
        return FakeResp(200, {"metadata": {"name": "cluster", "uid": "u", "resourceVersion": "1"}})

    cl, api = make(server)
    change = ObjectChange(
        CONFIG,
        Action.REPLACE,
        "edited",
        uid="u",
        resource_version="1",
        writes=(
            Write(CONFIG, Verb.DELETE, uid="u", resource_version="1"),
            Write(CONFIG, Verb.CREATE, body={}),
        ),
    )
    plan = Plan(profile="p", target=Target.OCP4, values_digest="", source="t", changes=[change])
    with pytest.raises(DestructiveRefused) as exc:
        ap.apply_plan(plan, cl, allow_replace=True, wait=False, timeout=1.0, lock_timeout=1.0)
    assert exc.value.exit_code == 6
    assert not [s for s in api.sent if s[0] == "DELETE" and "/configs/" in s[1]]


@pytest.mark.parametrize(
    ("write", "content_type"),
    [
        (Write(CONFIG, Verb.PATCH, body={"spec": {}}), "application/merge-patch+json"),
        (Write(DC, Verb.PATCH, body=[]), "application/json-patch+json"),
        (Write(PVC, Verb.PATCH, body={"spec": {}}), "application/merge-patch+json"),
        (Write(SECRET, Verb.UPDATE, body={"data": {}}, resource_version="3"), "application/json"),
        (Write(LEASE, Verb.UPDATE, body={"spec": {}}, resource_version="3"), "application/json"),
        (Write(LEASE, Verb.DELETE, uid="u"), "application/json"),
        (Write(PVC, Verb.DELETE, uid="u"), "application/json"),
    ],
    ids=["config", "dc", "pvc-patch", "secret-put", "lease-put", "lease-delete", "pvc-delete"],
)
def test_write_policy_picks_the_kinds_patch_type(write: Write, content_type: str) -> None:
    cl, api = make(lambda m, u, b: FakeResp(200, {}))
    cl.write(write)
    assert api.sent[0][3]["Content-Type"] == content_type


def test_every_policy_row_has_a_reason_and_a_known_resource() -> None:
    for key, row in c.WRITE_POLICY.items():
        assert key in c.RESOURCES and len(row.reason) > 20, key
        assert (row.patch is not None) == (Verb.PATCH in row.verbs), key
        assert row.deletable == (Verb.DELETE in row.verbs), key


# ---- the one retry helper --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "rand", "retry_after", "expected"),
    [
        (1, 0.0, None, 0.125),  # half the first step is fixed
        (1, 1.0, None, 0.25),
        (3, 0.5, None, 0.75),  # step 1.0: 0.5 fixed + 0.25 jitter
        (10, 1.0, None, 8.0),  # capped
        (1, 0.0, 2.0, 2.0),  # Retry-After is the least wait
        (4, 1.0, 0.5, 2.0),  # ... not the most
        (1, 0.0, 3600.0, 30.0),  # a server asking for an hour is waited for 30 s
        (1, 0.0, -5.0, 0.125),
    ],
)
def test_backoff_delay(attempt: int, rand: float, retry_after: float | None, expected: float) -> None:
    policy = c.RetryPolicy(attempts=4, backoff=0.25, cap=8.0, max_retry_after=30.0)
    assert c.backoff_delay(policy, attempt, retry_after, lambda: rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("Sun, 29 Nov 2026 10:00:10 GMT", 10.0),
        ("Sun, 29 Nov 2026 09:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    from regplan.cluster.transport import parse_retry_after

    now = 1_795_946_400.0  # Sun, 29 Nov 2026 10:00:00 GMT
    assert parse_retry_after(header, now) == (pytest.approx(expected) if expected is not None else None)


def test_retrying_jitters_and_gives_up_after_attempts() -> None:
    waits: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        raise c.TransientError("HTTP 503", sent=True, status=503)

    policy = c.RetryPolicy(attempts=3, backoff=1.0, cap=8.0)
    rands = iter([0.0, 1.0])
    with pytest.raises(c.TransientError):
        c.retrying(flaky, policy=policy, sleep=waits.append, rand=lambda: next(rands))
    assert len(calls) == 3 and waits == [0.5, 2.0]


@pytest.mark.parametrize("method", ["read", "write"])
@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured_for_reads_and_writes(
    monkeypatch: pytest.MonkeyPatch, method: str, code: int
) -> None:
    from regplan.cluster import transport

    waits: list[float] = []
    monkeypatch.setattr(transport.time, "sleep", waits.append)
    answers = [
        FakeResp(code, {"kind": "Status", "message": "slow down"}, {"Retry-After": "7"}),
        FakeResp(404, {"kind": "Status", "code": 404}),  # the re-read of a write: not there, resend
        FakeResp(201, {"metadata": {"name": "x"}}),
    ]
    if method == "read":
        answers.pop(1)
    cl, api = make(lambda m, u, b: answers.pop(0), attempts=3)
    said: list[str] = []
    cl.on_retry = said.append
    if method == "read":
        assert cl.get(PVC) == {"metadata": {"name": "x"}}
        assert [s[0] for s in api.sent] == ["GET", "GET"]
    else:
        cl.write(Write(PVC, Verb.CREATE, body={"metadata": {"name": "x"}}))
        assert [s[0] for s in api.sent] == ["POST", "GET", "POST"]  # re-read before the resend
        assert "checking whether it took effect" in said[0]
    assert waits == [7.0]
    assert f"HTTP {code}" in said[0] and "(attempt 2/3)" in said[0]


def test_unsent_write_is_resent_without_a_reread(monkeypatch: pytest.MonkeyPatch) -> None:
    err = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    answers: list[Any] = [err, FakeResp(201, {"metadata": {"name": "x"}})]
    cl, api = make(lambda m, u, b: answers.pop(0))
    cl.write(Write(PVC, Verb.CREATE, body={"metadata": {"name": "x"}}))
    assert [s[0] for s in api.sent] == ["POST", "POST"]


def test_dry_run_write_is_resent_without_a_reread() -> None:
    answers = [status(503, "unavailable"), FakeResp(200, {})]
    cl, api = make(lambda m, u, b: answers.pop(0))
    cl.write(Write(CONFIG, Verb.PATCH, body={"spec": {}}), dry_run=True)
    assert [s[0] for s in api.sent] == ["PATCH", "PATCH"]


# ---- the Protocol, the adapter and the shared fake agree --------------------------------------------------


def _members(cls: type) -> dict[str, object]:
    import inspect

    out: dict[str, object] = {}
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            out[name] = "property"
        elif callable(value):
            out[name] = [(p.name, p.kind, p.default) for p in inspect.signature(value).parameters.values()]
    return out


def test_cluster_and_the_shared_fake_implement_the_protocol() -> None:
    import fakes

    wanted = _members(c.ClusterAPI)
    attributes = set(getattr(c.ClusterAPI, "__annotations__", {}))
    for impl in (c.Cluster, fakes.MemoryCluster):
        have = _members(impl)
        for name, signature in wanted.items():
            if signature != "property":  # properties and attributes: checked on instances below
                assert have.get(name) == signature, (impl, name, have.get(name), signature)
    cl, _ = make(lambda m, u, b: FakeResp(200, {}))
    mem = fakes.MemoryCluster()
    for obj in (cl, mem):
        for name in attributes | {"requests"}:
            assert hasattr(obj, name), (obj, name)


@pytest.mark.parametrize(
    ("write", "answer"),
    [
        (Write(PVC, Verb.CREATE, body={"metadata": {"name": "image-registry-storage"}}), "AlreadyExists"),
        (
            Write(CONFIG, Verb.PATCH, body={"spec": {}}, resource_version="7", patch_type=PatchType.MERGE),
            "Conflict",
        ),
    ],
)
def test_dry_run_conflict_means_the_cluster_moved_exit_5(write: Write, answer: str) -> None:
    """A 409 on the dry run (the claim appeared, the Config changed since it was read) is a stale plan."""
    from regplan.base.errors import ExitCode, StaleError

    cl, _ = make(lambda method, url, body: status(409, f"{answer}: the object changed", answer))
    with pytest.raises(StaleError) as err:
        cl.dry_run([write])
    assert err.value.exit_code is ExitCode.STALE and "plan` again" in str(err.value)
