"""The fleet at scale (issue 18): one render per distinct input set, one connection pool per server and
credential, the profile parsed once. What is shared must never change a plan: two clusters whose inputs
differ (a secret file's content, a target, a value) are rendered apart and get their own plans."""

from __future__ import annotations

import base64
import os
import shutil
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from regplan.base.model import Target
from regplan.cluster import Cluster
from regplan.cluster import pool as poolmod
from regplan.core import render, values
from regplan.fleet import runs as fleet
from regplan.fleet import workspace

ROOT = Path(__file__).resolve().parents[2]
PROD_SNAPSHOT = ROOT / "examples" / "fleet" / "snapshots" / "prod-eu.yaml"
ACCESS = "AKIASCALETESTACCESS1"


def load(profile: str, *sets: str, environ: dict[str, str] | None = None) -> values.Values:
    return values.load_values(profile, files=[], sets=list(sets), profiles_dir=None, environ=environ or {})


# --- the render key and the cache (pure) ---


def test_render_key_changes_with_every_input_that_changes_the_output(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("key-a")
    (tmp_path / "b").write_text("key-b")
    env = {"ACC": ACCESS}
    base = ("s3.bucket=b", "s3.region=eu-west-1", "s3.accessKeyFrom=env:ACC")
    a = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'a'}", environ=env)
    b = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'b'}", environ=env)
    a_again = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'a'}", environ=env)
    assert render.render_key(a, Target.OCP4) == render.render_key(a_again, Target.OCP4)
    # where a value came from names places in messages only: not part of the key
    moved = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'a'}", environ=env)
    moved.origins = {k: "elsewhere.yaml:9" for k in moved.origins}
    assert render.render_key(a, Target.OCP4) == render.render_key(moved, Target.OCP4)
    assert render.render_key(a, Target.OCP4) != render.render_key(b, Target.OCP4)  # another key
    assert render.render_key(a, Target.OCP4) != render.render_key(a, Target.OCP3)  # another target
    other_env = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'a'}", environ={"ACC": "AKIAOTHER"})
    assert render.render_key(a, Target.OCP4) != render.render_key(other_env, Target.OCP4)  # env value
    # the same content under another file: same output, but the source differs (kept apart: exactness
    # before reuse)
    (tmp_path / "a2").write_text("key-a")
    a2 = load("aws-s3", *base, f"s3.secretKeyFrom=file:{tmp_path / 'a2'}", environ=env)
    assert render.render_key(a, Target.OCP4) != render.render_key(a2, Target.OCP4)
    bigger = load("ebs-gp2-rwo", "claim.size=200Gi")
    assert render.render_key(load("ebs-gp2-rwo"), Target.OCP4) != render.render_key(bigger, Target.OCP4)
    # the key is a digest: no secret value in it
    assert "key-a" not in render.render_key(a, Target.OCP4)


def test_render_cache_renders_once_per_input_set_and_hands_out_copies(monkeypatch: Any) -> None:
    calls: list[str] = []
    real = render.render

    def counted(v: values.Values, t: Target) -> render.Rendered:
        calls.append(v.profile)
        return real(v, t)

    monkeypatch.setattr(render, "render", counted)
    cache = render.RenderCache()
    ebs, bigger = load("ebs-gp2-rwo"), load("ebs-gp2-rwo", "claim.size=200Gi")
    outs = [cache.render(v, Target.OCP4) for v in (ebs, ebs, bigger, ebs, bigger)]
    assert len(calls) == 2 and (cache.hits, cache.misses) == (3, 2)
    assert outs[0].objects == outs[1].objects == outs[3].objects
    assert outs[0].objects != outs[2].objects
    assert outs[0].objects == real(ebs, Target.OCP4).objects  # the same output as without the cache
    assert outs[1].values is not outs[0].values  # each its own normalised values
    outs[0].objects[0]["metadata"]["name"] = "changed by one cluster"
    assert outs[1].objects[0]["metadata"]["name"] != "changed by one cluster"
    assert cache.render(ebs, Target.OCP4).objects[0]["metadata"]["name"] != "changed by one cluster"


def test_render_cache_keeps_no_failure_and_stays_bounded() -> None:
    cache = render.RenderCache(size=2)
    bad = load("ebs-gp2-rwo", "claim.size=lots")
    for _ in range(2):  # each cluster renders and reports its own error
        with pytest.raises(Exception, match=r"claim\.size"):
            cache.render(bad, Target.OCP4)
    assert not cache._done and cache.hits == 0  # invalid values never reach the cache
    for size in ("1Gi", "2Gi", "3Gi", "4Gi"):
        cache.render(load("ebs-gp2-rwo", f"claim.size={size}"), Target.OCP4)
    assert len(cache._done) <= 2


def test_render_cache_from_many_threads_renders_each_input_once(monkeypatch: Any) -> None:
    calls: list[int] = []
    real = render.render
    gate = threading.Barrier(8)

    def slow(v: values.Values, t: Target) -> render.Rendered:
        calls.append(1)
        return real(v, t)

    monkeypatch.setattr(render, "render", slow)
    cache = render.RenderCache()
    ebs = load("ebs-gp2-rwo")
    got: list[render.Rendered] = []

    def one() -> None:
        gate.wait()
        got.append(cache.render(ebs, Target.OCP4))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8
    assert len({id(r.objects) for r in got}) == 8  # each its own copy


def test_a_profile_is_parsed_once_while_unchanged(tmp_path: Path, monkeypatch: Any) -> None:
    parsed: list[Path] = []
    real = values._parse_profile

    def counted(name: str, path: Path, builtin: bool) -> Any:
        parsed.append(path)
        return real(name, path, builtin)

    monkeypatch.setattr(values, "_parse_profile", counted)
    values._profile_once.cache_clear()
    prof = tmp_path / "mine.yaml"
    prof.write_text("description: mine\ntargets: [ocp4]\nvalues:\n  replicas: 1\n")
    first = values.load_values("mine", files=[], sets=[], profiles_dir=tmp_path, environ={})
    again = values.load_values("mine", files=[], sets=[], profiles_dir=tmp_path, environ={})
    assert len(parsed) == 1 and first == again
    prof.write_text("description: mine\ntargets: [ocp4]\nvalues:\n  replicas: 3\n")  # changed: read again
    changed = values.load_values("mine", files=[], sets=[], profiles_dir=tmp_path, environ={})
    assert len(parsed) == 2 and changed.get("replicas") == 3


# --- the workspace: two clusters with different keys get different plans ---


def test_two_clusters_with_different_keys_get_different_plans(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "a").write_text("secret-key-of-cluster-a")
    (tmp_path / "keys" / "b").write_text("secret-key-of-cluster-b")
    (tmp_path / "snapshots").mkdir()
    for name in ("one", "two", "three"):
        shutil.copy(PROD_SNAPSHOT, tmp_path / "snapshots" / f"{name}.yaml")
    common = "s3.bucket=acme, s3.region=eu-west-1, s3.accessKeyFrom=env:SCALE_ACCESS"
    (tmp_path / "regplan.yaml").write_text(
        textwrap.dedent(
            f"""\
            defaults: {{profile: aws-s3, target: ocp4}}
            clusters:
              - {{name: one, set: [{common}, s3.secretKeyFrom=file:{tmp_path}/keys/a]}}
              - {{name: two, set: [{common}, s3.secretKeyFrom=file:{tmp_path}/keys/b]}}
              - {{name: three, set: [{common}, s3.secretKeyFrom=file:{tmp_path}/keys/a]}}
            """
        )
    )
    ws = workspace.load(tmp_path / "regplan.yaml")
    ctx = fleet.Context(ws=ws, environ={"SCALE_ACCESS": ACCESS}, snapshot_dir=tmp_path / "snapshots")
    outs = {o.name: o for o in fleet.plan_many(ctx, ws.clusters, parallelism=3)}
    assert not any(o.error for o in outs.values()), [o.error for o in outs.values()]

    def secret_data(name: str) -> dict[str, str]:
        plan = outs[name].plan
        assert plan is not None
        bodies = [w.body for w in plan.writes if w.ref.kind == "Secret"]
        assert len(bodies) == 1, plan.writes
        data: dict[str, str] = bodies[0]["data"] if "data" in bodies[0] else bodies[0]["stringData"]
        return data

    def decoded(name: str) -> str:
        return "".join(base64.b64decode(v).decode() for v in secret_data(name).values())

    assert "secret-key-of-cluster-a" in decoded("one") and "cluster-b" not in decoded("one")
    assert "secret-key-of-cluster-b" in decoded("two") and "cluster-a" not in decoded("two")
    assert secret_data("one") == secret_data("three")  # equal inputs: equal plans (one render)
    renders = ctx.shared.renders
    assert renders is not None and renders.misses == 2 and renders.hits >= 1  # two input sets, two renders
    plan_one, plan_two = outs["one"].plan, outs["two"].plan
    assert plan_one is not None and plan_two is not None
    assert plan_one.values_digest != plan_two.values_digest


# --- one connection pool per server and credential ---


def kubeconfig(tmp_path: Path, contexts: dict[str, tuple[str, str]], users: dict[str, str]) -> Path:
    """contexts: name -> (server, user); each context its own cluster entry."""
    ca = base64.b64encode(b"not a real CA, never used to connect").decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": f"cl-{n}", "cluster": {"server": s, "certificate-authority-data": ca}}
            for n, (s, _) in contexts.items()
        ],
        "users": [{"name": u, "user": {"token": t}} for u, t in users.items()],
        "contexts": [
            {"name": n, "context": {"cluster": f"cl-{n}", "user": u}} for n, (_, u) in contexts.items()
        ],
        "current-context": next(iter(contexts)),
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_identity_is_the_server_and_the_credential(tmp_path: Path) -> None:
    cfg = kubeconfig(
        tmp_path,
        {
            "a": ("https://api.one:6443", "admin"),
            "b": ("https://api.one:6443", "admin"),  # another name of the same server and user
            "c": ("https://api.one:6443", "viewer"),  # another credential
            "d": ("https://api.two:6443", "admin"),  # another server
        },
        {"admin": "token-admin", "viewer": "token-viewer"},
    )
    ids = {c: poolmod.identity(str(cfg), c, {}) for c in "abcd"}
    assert ids["a"] is not None and ids["a"] == ids["b"]
    assert len({ids["a"], ids["c"], ids["d"]}) == 3
    assert poolmod.identity(str(cfg), "missing", {}) is None  # the connection reports it, on its own
    assert poolmod.identity(None, None, {}) is None or os.path.exists(os.path.expanduser("~/.kube/config"))
    assert "token-admin" not in str(ids)


def test_identity_follows_the_content_of_referenced_files(tmp_path: Path) -> None:
    (tmp_path / "ca1.crt").write_text("ca one")
    (tmp_path / "ca2.crt").write_text("ca two")
    doc = {
        "clusters": [
            {"name": "x", "cluster": {"server": "https://api:6443", "certificate-authority": "ca1.crt"}},
            {"name": "y", "cluster": {"server": "https://api:6443", "certificate-authority": "ca2.crt"}},
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": "x", "context": {"cluster": "x", "user": "u"}},
            {"name": "y", "context": {"cluster": "y", "user": "u"}},
        ],
    }
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(yaml.safe_dump(doc))
    assert poolmod.identity(str(cfg), "x", {}) != poolmod.identity(str(cfg), "y", {})


def test_identity_never_opens_what_is_not_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ca.fifo")  # opening it would block
    (tmp_path / "ca.dir").mkdir()
    assert poolmod._file_digest(str(tmp_path / "ca.fifo")) == "not a regular file"
    assert poolmod._file_digest(str(tmp_path / "ca.dir")) == "not a regular file"
    assert poolmod._file_digest(str(tmp_path / "missing")) == "unreadable"
    doc = {
        "clusters": [
            {"name": "x", "cluster": {"server": "https://api:6443", "certificate-authority": "ca.fifo"}}
        ],
        "contexts": [{"name": "x", "context": {"cluster": "x"}}],
    }
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(yaml.safe_dump(doc))
    assert (
        poolmod.identity(str(cfg), "x", {}) is None
    )  # the kubeconfig check refuses it: its own pool, its error


def test_clusters_of_one_server_and_credential_share_one_transport(tmp_path: Path) -> None:
    cfg = kubeconfig(
        tmp_path,
        {"a": ("https://127.0.0.1:1", "admin"), "b": ("https://127.0.0.1:1", "admin"),
         "c": ("https://127.0.0.1:1", "viewer")},
        {"admin": "token-admin", "viewer": "token-viewer"},
    )  # fmt: skip
    pools = poolmod.Pools(environ={})
    a, b, c = (Cluster(kubeconfig=str(cfg), context=n, pools=pools) for n in "abc")
    assert a._transport is b._transport and a._transport is not c._transport
    assert pools.built == 2
    assert a.requests is not b.requests  # each cluster counts its own requests
    assert getattr(a._transport, "maxsize", None) == poolmod.POOL_MAXSIZE  # the stdlib transport (tokens)
    a.close()  # a cluster does not close what it shares
    assert a._transport in [f.result()[0] for f in pools._pools.values()]
    pools.close()
    assert not pools._pools
    alone = Cluster(kubeconfig=str(cfg), context="a")  # one cluster's command: its own, closed by it
    assert alone._owns_transport
    alone.close()


def test_pools_no_cluster_uses_are_closed_beyond_a_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """500 servers must not keep 500 servers' sockets to the end of a run (thousands of descriptors): a
    pool in use is never closed, a released one is kept for its server's next context, and beyond
    ``IDLE_POOLS`` released ones the oldest are closed (and built again if wanted)."""
    n = poolmod.IDLE_POOLS + 8
    servers = {f"c{i}": (f"https://127.0.0.1:{20000 + i}", "u") for i in range(n)}
    cfg = kubeconfig(tmp_path, servers, {"u": "t"})
    closed: list[str] = []

    class Fake:
        def __init__(self, host: str) -> None:
            self.host = host

        def close(self) -> None:
            closed.append(self.host)

    def fake_open(kubeconfig: str | None, context: str | None, *a: Any, **kw: Any) -> tuple[Fake, tuple[()]]:
        return Fake(str(context)), ()

    monkeypatch.setattr(poolmod, "open_transport", fake_open)
    pools = poolmod.Pools(environ={})
    live = [Cluster(kubeconfig=str(cfg), context=f"c{i}", pools=pools) for i in range(n)]
    assert pools.built == n and closed == []  # all in flight: none closed
    again = Cluster(kubeconfig=str(cfg), context="c0", pools=pools)
    assert again._transport is live[0]._transport and pools.built == n
    for c in live:
        c.close()
        c.close()  # closing twice releases once
    assert closed == [f"c{i}" for i in range(1, 8)]  # c0 is still used by `again`; the oldest go
    assert len(pools._pools) == poolmod.IDLE_POOLS + 1
    again.close()
    assert closed[-1] == "c8" and len(pools._pools) == poolmod.IDLE_POOLS
    kept = Cluster(kubeconfig=str(cfg), context=f"c{n - 1}", pools=pools)  # released, kept: the same
    assert kept._transport.host == f"c{n - 1}" and pools.built == n
    rebuilt = Cluster(kubeconfig=str(cfg), context="c1", pools=pools)  # closed: built again
    assert rebuilt._transport.host == "c1" and pools.built == n + 1
    pools.close()


# --- docs/fleet.md "Beyond one machine": the ApplicationSets name the plugin as it is declared ---


def test_the_applicationsets_of_the_docs_name_the_plugin_and_its_cluster_parameter() -> None:
    import re

    text = (ROOT / "docs" / "fleet.md").read_text()
    section = text[text.index("## Beyond one machine") :]
    plugin = yaml.safe_load((ROOT / "deploy" / "argocd" / "plugin.yaml").read_text())
    name = f"{plugin['metadata']['name']}-{plugin['spec']['version']}"
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    sets = [b for b in blocks if "template" in b.get("spec", b)]
    assert len(sets) == 2  # the list generator, the git generator
    for doc in sets:
        template = doc.get("spec", doc)["template"]
        source = template["spec"]["source"]
        assert source["plugin"]["name"] == name
        (param,) = source["plugin"]["parameters"]
        assert param["name"] == "cluster" and "{{" in param["string"]
        assert template["spec"]["destination"]["namespace"] == "openshift-image-registry"
    full = next(b for b in sets if b.get("kind") == "ApplicationSet")
    assert full["spec"]["goTemplate"] is True


def test_an_offline_workspace_run_never_imports_the_cluster_package() -> None:
    """The pools are made on first use: planning against snapshots (CI on every pull request) pays nothing
    for them (the cluster package alone is ~60 ms of imports)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from regplan.fleet import runs as fleet, workspace\n"
        "ws = workspace.load(Path('regplan.yaml'))\n"
        "ctx = fleet.Context(ws=ws, environ={}, snapshot_dir=ws.snapshot_dir)\n"
        "outs = fleet.plan_many(ctx, ws.clusters, parallelism=2)\n"
        "assert all(o.plan is not None for o in outs), [o.error for o in outs]\n"
        "print('regplan.cluster' in sys.modules)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT / "examples" / "fleet",
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"
