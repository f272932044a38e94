"""Synced means synced: what `regplan argocd-generate` gives Argo CD compares equal, in Argo CD's own diff
(tests/argocd/syncdiff: the application controller's StateDiffs over gitops-engine's diff package, as a
default installation configures it), to the live objects after they were applied, by an Argo CD-style
sync (kubectl client-side apply with last-applied, or server-side apply as the `argocd-controller` field
manager, of the manifests with Argo CD's tracking annotation) and by `regplan apply`. No permanent
OutOfSync from the `null` backends of Config, from fields the apiserver defaults, or from annotations.

4.x only: argocd-generate refuses OpenShift 3.x (tests/unit/test_argocd_generate.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from harness import TargetCluster
from harness.cluster import kubectl

pytestmark = pytest.mark.argocd  # also selected by -m argocd (it needs hack/build-argocd.sh's syncdiff)

TRACKING = "argocd.argoproj.io/tracking-id"
SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
PROFILES = ["ebs-gp2-rwo", "cephfs-rwx", "glusterfs"]


def syncdiff() -> Path:
    root = Path(os.environ.get("REGPLAN_TESTBIN") or Path.home() / ".cache/regplan/testbin")
    exe = root / "argocd" / "current" / "syncdiff"
    if not os.access(exe, os.X_OK):
        msg = f"syncdiff not built in {exe.parent}: run bash hack/build-argocd.sh (or make testbin)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return exe


def tool() -> str:
    exe = kubectl()
    if exe is None:
        pytest.skip("kubectl not found: run hack/get-kubectl.sh")
    return exe


def generated(tmp_path: Path, profile: str) -> Path:
    """The manifests Argo CD receives for a workspace cluster with this profile (cwd = the app's path)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "regplan.yaml").write_text(
        textwrap.dedent(f"""
        clusters:
          - name: c1
            target: ocp4
            profile: {profile}
        """).lstrip()
    )
    bin_dir = Path(sys.executable).parent
    p = subprocess.run(
        [str(bin_dir / "regplan"), "argocd-generate"], cwd=repo,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "PARAM_CLUSTER": "c1",
             "ARGOCD_APP_SOURCE_PATH": "."},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    out = tmp_path / "target.yaml"
    out.write_text(p.stdout)
    return out


def run(argv: list[str], stdin: str | None = None) -> str:
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, timeout=120)
    assert p.returncode == 0, f"{argv[:3]}: {p.stderr}"
    return p.stdout


def argo_apply(c: TargetCluster, target: Path, *, server_side: bool) -> None:
    """Apply as an Argo CD sync does: the manifests with the tracking annotation the repo-server sets;
    with the Application's ServerSideApply=true, server-side as `argocd-controller` except for the objects
    whose sync-options say ServerSideApply=false (gitops-engine's shouldUseServerSideApply)."""
    annotated = run([str(syncdiff()), "-target", str(target), "-annotate"])
    docs = [json.loads(d) for d in annotated.split("\n---\n") if d.strip()]
    base = [tool(), "--kubeconfig", str(c.kubeconfig), "apply", "-f", "-"]
    for doc in docs:
        opts = (doc["metadata"].get("annotations") or {}).get(SYNC_OPTIONS, "")
        if server_side and "ServerSideApply=false" not in opts:
            run(
                [*base, "--server-side", "--field-manager=argocd-controller", "--force-conflicts"],
                json.dumps(doc),
            )
        else:
            run(base, json.dumps(doc))


def compare(c: TargetCluster, target: Path, tmp_path: Path) -> dict[str, Any]:
    items = json.loads(
        run(
            [
                tool(),
                "--kubeconfig",
                str(c.kubeconfig),
                "get",
                "--ignore-not-found",
                "-f",
                str(target),
                "-o",
                "json",
            ]
        )
    )
    live = tmp_path / "live.json"
    live.write_text("\n---\n".join(json.dumps(o) for o in items.get("items", [items])))
    result: dict[str, Any] = json.loads(run([str(syncdiff()), "-target", str(target), "-live", str(live)]))
    return result


def differences(result: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """The fields by which each OutOfSync resource differs (predicted live vs normalized live), leaving
    out the annotations named in ``ignore``."""
    out = []
    for r in result["resources"]:
        if not r["modified"]:
            continue
        want, have = r["predictedLive"], r["normalizedLive"]
        for o in (want, have):
            meta = (o or {}).get("metadata", {})
            for key in ignore:
                (meta.get("annotations") or {}).pop(key, None)
            if "annotations" in meta and not meta["annotations"]:
                del meta["annotations"]
        if want != have:
            out.append(f"{r['kind']}/{r['name']}: " + "; ".join(paths(want, have)))
    return out


def paths(a: Any, b: Any, at: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b)) for p in paths(a.get(k), b.get(k), f"{at}.{k}")]
    return [] if a == b else [f"{at}: want {json.dumps(a)[:120]} have {json.dumps(b)[:120]}"]


@pytest.mark.parametrize("server_side", [False, True], ids=["client-side", "server-side"])
@pytest.mark.parametrize("profile", PROFILES)
def test_argocd_sync_leaves_the_app_synced(
    ocp4_cluster: TargetCluster, tmp_path: Path, profile: str, server_side: bool
) -> None:
    c = ocp4_cluster
    target = generated(tmp_path, profile)
    before = compare(c, target, tmp_path)
    assert before["modified"]  # the seed (S3) differs: the check can fail
    argo_apply(c, target, server_side=server_side)
    assert differences(compare(c, target, tmp_path)) == []
    # and again: a second sync changes nothing and stays Synced
    argo_apply(c, target, server_side=server_side)
    assert differences(compare(c, target, tmp_path)) == []
    assert "s3" not in c.admin.get("Config", "cluster")["spec"]["storage"]


@pytest.mark.parametrize("profile", PROFILES)
def test_regplan_apply_then_argocd(ocp4_cluster: TargetCluster, tmp_path: Path, profile: str) -> None:
    """`regplan apply` leaves nothing for Argo CD to change but its own metadata (the tracking annotation
    and the sync option: Argo CD does not own the objects until it syncs once); after that sync, `regplan
    apply` keeps the app Synced (it changes only the fields it renders)."""
    c = ocp4_cluster
    target = generated(tmp_path, profile)
    applied = c.run_regplan("apply", "-p", profile, "--yes", "--no-wait")
    assert applied.returncode == 0, applied.stderr
    result = compare(c, target, tmp_path)
    assert result["modified"]  # Argo CD's metadata is missing
    assert differences(result, ignore=(TRACKING, SYNC_OPTIONS)) == []
    argo_apply(c, target, server_side=False)
    assert differences(compare(c, target, tmp_path)) == []
    again = c.run_regplan("apply", "-p", profile, "--yes", "--no-wait")
    assert again.returncode == 0, again.stderr
    assert differences(compare(c, target, tmp_path)) == []
