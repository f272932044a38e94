"""TLS on the real apiserver: ``insecure-skip-tls-verify: true`` in the kubeconfig is honoured, said once in
regplan's words (no urllib3 warning with a site-packages path); without it, a wrong CA is exit 4."""

from __future__ import annotations

import base64
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import TargetCluster
from harness.controlplane import self_signed_ca


def other_ca() -> bytes:
    """A self-signed certificate nobody signed the test apiserver's with."""
    return self_signed_ca("not-the-apiserver-ca", days=1)[0]


def kubeconfig(c: TargetCluster, tmp_path: Path, *, insecure: bool) -> Path:
    cfg: dict[str, Any] = yaml.safe_load(c.kubeconfig.read_text())
    for entry in cfg["clusters"]:
        entry["cluster"].pop("certificate-authority", None)
        entry["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca()).decode()
        if insecure:
            entry["cluster"]["insecure-skip-tls-verify"] = True
    path = tmp_path / ("insecure" if insecure else "wrong-ca")
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("insecure", [True, False], ids=["insecure-skip-tls-verify", "verified"])
def test_wrong_ca_works_only_with_insecure_skip_tls_verify(
    ocp4_cluster: TargetCluster, tmp_path: Path, insecure: bool
) -> None:
    path = kubeconfig(ocp4_cluster, tmp_path, insecure=insecure)
    r = ocp4_cluster.run_regplan("plan", "-p", "ebs-gp2-rwo", "--context", "admin", kubeconfig=path)
    assert "InsecureRequestWarning" not in r.stderr and "site-packages" not in r.stderr, r.stderr
    if insecure:
        assert r.returncode == 0, r.stderr
        warned = [
            line for line in r.stderr.splitlines() if line.startswith("regplan: warning: TLS verification")
        ]
        assert len(warned) == 1 and "insecure-skip-tls-verify" in warned[0]  # once, in the CLI's voice
    else:
        assert r.returncode == 4, r.stderr
        assert "TLS verification failed" in r.stderr


def test_insecure_adapter_warns_once_in_its_own_words(ocp4_cluster: TargetCluster, tmp_path: Path) -> None:
    from regplan.base.model import Target
    from regplan.cluster import Cluster

    path = kubeconfig(ocp4_cluster, tmp_path, insecure=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cluster = Cluster(kubeconfig=str(path), context="admin")
        try:
            assert cluster.detect_target() is Target.OCP4
            assert cluster.list_objects("v1", "Namespace")  # several requests: still no library warning
        finally:
            cluster.close()
    assert [str(w.message) for w in caught] == []
    (line,) = cluster.warnings
    assert line.startswith(f"TLS verification is off for {cluster.host} (insecure-skip-tls-verify in cluster")
    assert str(path) in line and "\n" not in line
