"""Target detection reads ``Config/cluster`` itself and the plan's read of it reuses that answer (one
request fewer per plan), exactly: a 404 naming the object is "4.x, no Config"; a 404 about the resource, or
a 403, asks for the API group as before; a stale or already used answer is never reused."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import FakeResp, make, status

from regplan.base.model import Ref, Target
from regplan.cluster import adapter

CONFIG = Ref("imageregistry.operator.openshift.io/v1", "Config", "", "cluster")
PATH = "/apis/imageregistry.operator.openshift.io/v1/configs/cluster"
GROUP = "/apis/imageregistry.operator.openshift.io"
OBJ = {"kind": "Config", "metadata": {"name": "cluster", "resourceVersion": "7"}}


def not_found(kind: str = "", name: str = "") -> FakeResp:
    details = {"kind": kind, "name": name} if name else {}
    return FakeResp(404, {"kind": "Status", "code": 404, "reason": "NotFound", "details": details})


def test_detection_reads_the_config_and_the_read_reuses_it() -> None:
    cl, api = make(lambda m, u, b: FakeResp(200, OBJ))
    assert cl.detect_target() is Target.OCP4
    assert cl.get(CONFIG) == OBJ
    assert [p for _, p, _, _ in api.sent] == [PATH]  # one request for both
    assert cl.get(CONFIG) == OBJ and len(api.sent) == 2  # used once: the next read goes to the server


def test_a_404_naming_the_object_is_4x_without_a_config() -> None:
    cl, api = make(lambda m, u, b: not_found("configs", "cluster"))
    assert cl.detect_target() is Target.OCP4
    assert cl.get(CONFIG) is None and len(api.sent) == 1


@pytest.mark.parametrize(
    "answer", [not_found(), status(403, "forbidden")], ids=["resource not served", "403"]
)
def test_otherwise_the_api_group_decides_as_before(answer: FakeResp) -> None:
    def handler(method: str, url: str, body: Any) -> Any:
        return answer if url == PATH else FakeResp(200, {"kind": "APIGroup"}) if url == GROUP else not_found()

    cl, api = make(handler)
    assert cl.detect_target() is Target.OCP4
    assert [p for _, p, _, _ in api.sent] == [PATH, GROUP]
    if answer.status == 404:
        cl.get(CONFIG)
        assert len(api.sent) == 3  # not reused: read again


def test_a_stale_answer_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    cl, api = make(lambda m, u, b: FakeResp(200, OBJ))
    assert cl.detect_target() is Target.OCP4
    monkeypatch.setattr(adapter, "SEEN_FRESH", -1.0)
    assert cl.get(CONFIG) == OBJ and len(api.sent) == 2
