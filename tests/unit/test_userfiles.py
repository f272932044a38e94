"""The one file layer (regplan.base.userfiles) and every path routed through it, with hostile trees: symlinks
to outside, FIFOs, devices, directories where files go, binary files, files regplan did not write, and a
write that fails half-way. Each test of a defect of issue 16 builds the tree a pull request could commit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from regplan.base import safeload, userfiles
from regplan.base.errors import ExitCode, InvalidInput, UnreadableInput
from regplan.base.model import Target
from regplan.cli import commands
from regplan.core import render, values
from regplan.present import output
from tools import golden

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fleet"


def run(*argv: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "regplan", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "REGPLAN_PROFILES_DIR": ""},
        check=False,
        timeout=timeout,
    )


def tree(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr, p.stderr


# --- reads -------------------------------------------------------------------------------------------


def special(tmp_path: Path, kind: str) -> Path:
    if kind == "fifo":
        os.mkfifo(tmp_path / "f")
        return tmp_path / "f"
    if kind == "directory":
        (tmp_path / "d").mkdir()
        return tmp_path / "d"
    return Path("/dev/null")


@pytest.mark.parametrize(
    ("kind", "words", "name"),
    [
        ("fifo", "a FIFO (named pipe)", "fifo"),
        ("directory", "a directory", "dir"),
        ("device", "a character device", "char-device"),
    ],
)
def test_reads_refuse_what_is_not_a_regular_file_without_blocking(
    tmp_path: Path, kind: str, words: str, name: str
) -> None:
    path = special(tmp_path, kind)
    with pytest.raises(UnreadableInput) as err:
        userfiles.read_regular(path, what="values file", max_bytes=100)
    assert str(err.value) == f"{path}: cannot read values file: it is {words}, not a regular file"
    assert err.value.exit_code is ExitCode.INVALID
    assert err.value.kind == name and name in userfiles.FILE_KINDS  # what code matches on, not the words


def test_an_unreadable_or_malformed_file_has_no_kind(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput) as missing:
        userfiles.read_regular(tmp_path / "missing", what="values file", max_bytes=100)
    assert missing.value.kind is None
    with pytest.raises(UnreadableInput) as bad:
        safeload.load_yaml("a: [", source="f.yaml")
    assert bad.value.kind is None


def test_a_symlink_to_a_regular_file_is_read_where_the_user_named_it(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("a: 1\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")  # ~/.kube/config links are normal
    assert userfiles.read_regular(tmp_path / "link", what="values file", max_bytes=100) == b"a: 1\n"
    # at most max_bytes + 1 are read: the caller refuses the size
    assert userfiles.read_regular(tmp_path / "real", what="x", max_bytes=2) == b"a: "


def test_reads_inside_a_root_never_follow_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "f.yaml").write_text("secret from outside\n")
    (tmp_path / "root" / "d").mkdir(parents=True)
    (tmp_path / "root" / "d" / "link.yaml").symlink_to(tmp_path / "outside" / "f.yaml")
    (tmp_path / "root" / "dirlink").symlink_to(tmp_path / "outside")
    root = userfiles.Root(tmp_path / "root", "root")
    for rel in ("d/link.yaml", "dirlink/f.yaml"):
        with pytest.raises(userfiles.FileRefused, match="is a symlink") as err:
            root.read(rel, what="rendered file")
        assert "secret from outside" not in str(err.value)
    assert root.read("d/missing.yaml", what="x") is None
    assert root.entries("d") == [("link.yaml", "symlink")]
    with pytest.raises(userfiles.FileRefused, match=r"root/dirlink: is a symlink"):
        root.entries("dirlink")


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "a/../../x", "", "a//b/."])
def test_paths_that_leave_the_root_are_refused(tmp_path: Path, rel: str) -> None:
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    if rel == "a//b/.":  # normalised by PurePosixPath to a/b: inside, allowed
        changes.write(rel, "x")
        return
    with pytest.raises(userfiles.FileRefused, match="not a path inside"):
        changes.write(rel, "x")


# --- writes ------------------------------------------------------------------------------------------


def test_no_write_through_a_symlinked_directory_or_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("precious\n")
    root_dir = tmp_path / "root"
    root_dir.mkdir()
    (root_dir / "dir").symlink_to(outside)
    (root_dir / "file.json").symlink_to(outside / "victim.txt")
    root = userfiles.Root(root_dir, str(root_dir))
    for rel in ("dir/new.yaml", "dir/victim.txt", "file.json"):
        changes = userfiles.Changes(root)
        changes.write("ok.yaml", "written only if everything can be\n")
        changes.write(rel, "attack\n")
        with pytest.raises(userfiles.FileRefused, match=r"is a symlink \(to .*outside"):
            changes.commit()
    assert tree(outside) == {"victim.txt": b"precious\n"}
    assert sorted(p.name for p in root_dir.iterdir()) == ["dir", "file.json"]  # ok.yaml not written either


@pytest.mark.parametrize(("kind", "words"), [("fifo", "a FIFO"), ("directory", "a directory")])
def test_a_special_file_where_a_file_goes_is_refused(tmp_path: Path, kind: str, words: str) -> None:
    special(tmp_path, kind)
    name = "f" if kind == "fifo" else "d"
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    changes.write(name, "x")
    with pytest.raises(userfiles.FileRefused, match=f"is {words}"):
        changes.commit()


def test_a_failed_commit_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a directory must go\n")
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    changes.write("new/a.yaml", "a")
    changes.write("new/deeper/b.yaml", "b")
    changes.write("blocker/c.yaml", "c")
    with pytest.raises(userfiles.FileRefused, match="blocker: is a regular file, not a directory"):
        changes.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]  # no dir, no temp file left


def test_removals_only_of_regular_files_and_only_empty_dirs(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mine.yaml").write_text("x")
    (tmp_path / "d" / "theirs.md").write_text("kept")
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    changes.remove("d/mine.yaml")
    changes.remove_dir("d")
    changes.commit()
    assert tree(tmp_path) == {"d/theirs.md": b"kept"}
    (tmp_path / "d" / "link").symlink_to(tmp_path / "d" / "theirs.md")
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    changes.remove("d/link")
    with pytest.raises(userfiles.FileRefused, match="is a symlink"):
        changes.commit()


def test_a_relative_path_is_rooted_at_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "plans").symlink_to(tmp_path / "outside")
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(userfiles.FileRefused, match="plans: is a symlink"):
        userfiles.write_file(Path("plans/x.json"), "{}")
    # an absolute path's directories are the user's own: its last component must still not be a link
    userfiles.write_file(tmp_path / "work" / "plans" / "x.json", "{}")
    assert (tmp_path / "outside" / "x.json").read_text() == "{}"
    (tmp_path / "work" / "link.json").symlink_to(tmp_path / "outside" / "x.json")
    with pytest.raises(userfiles.FileRefused, match=r"link\.json: is a symlink"):
        userfiles.write_file(tmp_path / "work" / "link.json", "attack")
    assert (tmp_path / "outside" / "x.json").read_text() == "{}"


# --- render --out-dir ----------------------------------------------------------------------------------


def _rendered(*sets: str) -> render.Rendered:
    vals = values.load_values("ebs-gp2-rwo", files=[], sets=list(sets), profiles_dir=None, environ={})
    return render.render(vals, Target.OCP4)


def test_out_dir_removes_only_the_files_its_kustomization_recorded(tmp_path: Path) -> None:
    out = tmp_path / "out"
    output.write_dir(_rendered("claim.name=old"), out)
    (out / "09-config-mine.yaml").write_text("a hand-written file named like regplan's\n")
    output.write_dir(_rendered(), out)
    names = sorted(p.name for p in out.iterdir())
    assert "01-persistentvolumeclaim-old.yaml" not in names  # regplan wrote it: removed
    assert "09-config-mine.yaml" in names  # regplan did not: kept
    # a kustomization.yaml someone else wrote is no record of regplan's: nothing it lists is removed, and
    # it is not replaced either (an overlay's own kustomization.yaml; the outside check of issue 16)
    (out / "kustomization.yaml").write_text("resources: [09-config-mine.yaml]\n# mine\n")
    before = tree(out)
    with pytest.raises(InvalidInput, match=r"(kustomization|02-config-\w+)\.yaml: not written by regplan"):
        output.write_dir(_rendered("claim.name=other"), out)
    assert tree(out) == before


def test_out_dir_through_a_symlink_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "kustomization.yaml").write_text(output.kustomization_text(["01-a-b.yaml"]))
    (tmp_path / "outside" / "01-a-b.yaml").write_text("theirs\n")
    (tmp_path / "link").symlink_to(tmp_path / "outside")
    before = tree(tmp_path / "outside")
    monkeypatch.chdir(tmp_path)
    for out in (Path("link"), Path("link/sub"), tmp_path / "link"):
        with pytest.raises(InvalidInput, match=r"--out-dir: .*link: is a symlink"):
            output.write_dir(_rendered(), out)
    assert tree(tmp_path / "outside") == before


# --- the workspace tree: render, golden --update, golden --check --------------------------------------

WORKSPACE = """\
defaults: {profile: ebs-gp2-rwo, target: ocp4}
clusters:
  - name: dev-us
  - name: prod-eu
"""


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "regplan.yaml").write_text(WORKSPACE)
    return ws


def fleet(ws: Path, command: str, **kw: object) -> tuple[ExitCode, str, str]:
    out: list[str] = []
    err: list[str] = []
    kw.setdefault("output", "yaml" if command == "render" else "text")
    code = commands.fleet(
        commands.FleetOptions(command=command, workspace=ws / "regplan.yaml", **kw),  # type: ignore[arg-type]
        reporter=commands.Reporter(out=out.append, err=err.append),
        environ={},
    )
    return code, "".join(out), "".join(err)


def outside_tree(tmp_path: Path) -> Path:
    """A directory outside the workspace that looks like a rendered cluster (regplan's own kustomization
    record listing a file), so a writer that followed a link would both overwrite and prune there."""
    outside = tmp_path / "outroot" / "dev-us"
    outside.mkdir(parents=True)
    (outside / "kustomization.yaml").write_text(output.kustomization_text(["01-secret-keep.yaml"]))
    (outside / "01-secret-keep.yaml").write_text("not regplan's to touch\n")
    (outside / "02-config-cluster.yaml").write_text("precious\n")
    return outside


@pytest.mark.parametrize(
    ("command", "kw"),
    [("render", {}), ("golden", {"update": True}), ("golden", {})],
    ids=["render", "update", "check"],
)
@pytest.mark.parametrize("link", ["cluster-dir", "render-dir", "file"])
def test_a_symlink_in_rendered_is_never_followed(
    tmp_path: Path, command: str, kw: dict[str, object], link: str
) -> None:
    ws = workspace(tmp_path)
    outside = outside_tree(tmp_path)
    if link == "render-dir":
        (ws / "rendered").symlink_to(outside.parent)
    else:
        assert fleet(ws, "render")[0] is ExitCode.OK
        if link == "cluster-dir":
            shutil.rmtree(ws / "rendered" / "dev-us")
            (ws / "rendered" / "dev-us").symlink_to(os.path.relpath(outside, ws / "rendered"))
        else:
            (ws / "rendered" / "dev-us" / "02-config-cluster.yaml").unlink()
            (ws / "rendered" / "dev-us" / "02-config-cluster.yaml").symlink_to(
                outside / "02-config-cluster.yaml"
            )
    before = tree(outside)
    with pytest.raises(InvalidInput, match="is a symlink") as err:
        fleet(ws, command, **kw)
    assert err.value.exit_code is ExitCode.INVALID
    assert "precious" not in str(err.value) and "not regplan's" not in str(err.value)
    assert tree(outside) == before
    assert sorted(p.name for p in outside.iterdir()) == sorted(before)


def test_golden_check_with_a_binary_file_shows_it_as_differing(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    assert fleet(ws, "render")[0] is ExitCode.OK
    (ws / "rendered" / "dev-us" / "02-config-cluster.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    code, out, _ = fleet(ws, "golden")
    assert code is ExitCode.CHANGES
    assert "+++ b/rendered/dev-us/02-config-cluster.yaml" in out and "(not UTF-8 text, 10 bytes" in out
    assert fleet(ws, "golden", update=True)[0] is ExitCode.OK
    assert fleet(ws, "golden")[:2] == (ExitCode.OK, "")


def test_a_hand_written_file_where_regplan_renders_is_not_replaced(tmp_path: Path) -> None:
    """``render`` and ``golden --update`` replace only the files regplan's own kustomization.yaml records
    (or ones already holding exactly what it writes): a hand-written kustomization.yaml or file of a
    directory that is also a cluster's is refused, naming it, and nothing is written anywhere."""
    ws = workspace(tmp_path)
    mine = ws / "rendered" / "dev-us"
    mine.mkdir(parents=True)
    (mine / "kustomization.yaml").write_text("resources: [mine.yaml]\n")
    before = tree(ws)
    for update in (False, True):
        with pytest.raises(InvalidInput, match=r"dev-us/kustomization\.yaml: not written by regplan"):
            fleet(ws, "golden", update=True) if update else fleet(ws, "render")
        assert tree(ws) == before
    (mine / "kustomization.yaml").unlink()
    (mine / "02-config-cluster.yaml").write_text("hand-written\n")
    with pytest.raises(InvalidInput, match=r"dev-us/02-config-cluster\.yaml: not written by regplan"):
        fleet(ws, "render")
    (mine / "02-config-cluster.yaml").unlink()
    assert fleet(ws, "render")[0] is ExitCode.OK  # then regplan's, and rendered again over itself
    assert fleet(ws, "render")[0] is ExitCode.OK


def test_golden_check_refuses_a_fifo_in_rendered_without_blocking(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    assert fleet(ws, "render")[0] is ExitCode.OK
    os.mkfifo(ws / "rendered" / "dev-us" / "notes.yaml")  # not regplan's name: never opened, not shown
    (ws / "rendered" / "dev-us" / "02-config-cluster.yaml").unlink()
    os.mkfifo(ws / "rendered" / "dev-us" / "02-config-cluster.yaml")  # regplan's name: refused
    p = run("golden", "--check", cwd=ws, timeout=30)
    assert p.returncode == 3 and "02-config-cluster.yaml: is not a regular file" in p.stderr
    no_traceback(p)


def test_render_keeps_what_it_did_not_write_and_only_update_prunes_its_own(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    base = ws / "rendered" / "base"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: [../dev-us, ../prod-eu]\n")  # hand-written
    assert fleet(ws, "render")[0] is ExitCode.OK
    (ws / "rendered" / "prod-eu" / "NOTES.md").write_text("a reviewer's note\n")
    (ws / "regplan.yaml").write_text(WORKSPACE.replace("  - name: prod-eu\n", ""))  # prod-eu leaves
    before = tree(ws / "rendered")
    assert fleet(ws, "render")[0] is ExitCode.OK
    assert tree(ws / "rendered") == before  # plain render removes nothing (docs/fleet.md)
    (ws / "rendered" / "dev-us" / "README.md").write_text("hand-written, next to regplan's files\n")
    (ws / "rendered" / "dev-us" / "\x1b]0;pwned\x07.yaml").write_text("a name with a terminal escape\n")
    code, out, _ = fleet(ws, "golden")
    assert code is ExitCode.CHANGES and "a/rendered/prod-eu/kustomization.yaml" in out
    assert "README.md" not in out and "\x1b" not in out  # not regplan's: neither read nor shown
    assert "NOTES.md" not in out and "base" not in out
    code, _, err = fleet(ws, "golden", update=True)
    assert code is ExitCode.OK and "other files there were kept" in err
    assert tree(ws / "rendered" / "prod-eu") == {"NOTES.md": b"a reviewer's note\n"}
    assert tree(base) == {"kustomization.yaml": b"resources: [../dev-us, ../prod-eu]\n"}
    (ws / "rendered" / "prod-eu" / "NOTES.md").unlink()
    assert fleet(ws, "golden")[:2] == (ExitCode.OK, "")  # other files beside regplan's do not differ
    assert (ws / "rendered" / "dev-us" / "README.md").is_file()


def test_a_failing_render_rewrites_no_cluster(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    assert fleet(ws, "render")[0] is ExitCode.OK
    before = tree(ws / "rendered")
    (ws / "regplan.yaml").write_text(
        WORKSPACE.replace("- name: dev-us\n", "- name: dev-us\n    set: [claim.size=300Gi]\n")
        + "  - name: bad\n    set: [replicas=3]\n"
    )
    with pytest.raises(InvalidInput, match="nothing was written"):
        fleet(ws, "render")
    assert tree(ws / "rendered") == before


# --- plan --out, apply --plan-dir, snapshots --------------------------------------------------------------


def example_copy(tmp_path: Path) -> Path:
    ws = tmp_path / "fleet"
    shutil.copytree(EXAMPLE, ws, symlinks=True)
    return ws


def test_plan_out_does_not_follow_a_symlinked_plan_file(tmp_path: Path) -> None:
    ws = example_copy(tmp_path)
    (tmp_path / "victim.txt").write_text("precious\n")
    (ws / "plans").mkdir()
    (ws / "plans" / "dev-us.json").symlink_to("../../victim.txt")
    p = run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws)
    assert p.returncode == 3 and "plans/dev-us.json: is a symlink" in p.stderr, p.stderr
    no_traceback(p)
    assert (tmp_path / "victim.txt").read_text() == "precious\n"
    assert sorted(f.name for f in (ws / "plans").iterdir()) == ["dev-us.json"]  # nothing half-written
    # one cluster: the same rule
    p = run(
        "plan",
        "-p",
        "ebs-gp2-rwo",
        "--snapshot",
        "snapshots/dev-us.yaml",
        "--out",
        "plans/dev-us.json",
        cwd=ws,
    )
    assert p.returncode == 3 and "is a symlink" in p.stderr
    assert (tmp_path / "victim.txt").read_text() == "precious\n"


def test_plan_out_removes_only_plan_files_regplan_wrote(tmp_path: Path) -> None:
    ws = example_copy(tmp_path)
    assert run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws).returncode == 0
    (ws / "plans" / "notes.json").write_text('{"mine": true}\n')
    (ws / "snapshots" / "dev-us.yaml").unlink()  # dev-us has no plan this time
    (ws / "snapshots" / "prod-eu.yaml").unlink()
    (ws / "plans" / "prod-eu.json").write_text('{"not": "a plan"}\n')
    p = run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws)
    assert p.returncode == 3  # the clusters without a snapshot are errors
    names = sorted(f.name for f in (ws / "plans").iterdir())
    assert names == ["legacy-us.json", "notes.json", "prod-eu.json", "stage-eu.json"]


@pytest.mark.parametrize("content", [b"my notes\n", b'{"not": "a plan"}\n', b"{" + b" " * (11 << 20) + b"}"])
def test_plan_out_does_not_replace_a_file_that_is_not_its_plan(tmp_path: Path, content: bytes) -> None:
    """``<cluster>.json`` that is not a plan regplan wrote (notes, another tool's file, one past the plan
    bound) is refused, naming it, and nothing in the directory changes (it was overwritten)."""
    ws = example_copy(tmp_path)
    (ws / "plans").mkdir()
    (ws / "plans" / "dev-us.json").write_bytes(content)
    before = tree(ws / "plans")
    p = run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws)
    assert p.returncode == 3 and "plans/dev-us.json: not a plan file regplan wrote" in p.stderr, p.stderr
    assert tree(ws / "plans") == before
    (ws / "plans" / "dev-us.json").unlink()
    assert run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws).returncode == 0
    assert run("plan", "--snapshot-dir", "snapshots", "--out", "plans", cwd=ws).returncode == 0  # its own


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_apply_plan_dir_refuses_special_plan_files_without_blocking(tmp_path: Path, kind: str) -> None:
    (tmp_path / "regplan.yaml").write_text("clusters:\n  - {name: a, profile: ebs-gp2-rwo}\n")
    (tmp_path / "kubeconfig").write_text("contexts: [{name: a}]\n")
    (tmp_path / "plans").mkdir()
    (tmp_path / "elsewhere.json").write_text("{}")
    if kind == "fifo":
        os.mkfifo(tmp_path / "plans" / "a.json")
    elif kind == "symlink":
        (tmp_path / "plans" / "a.json").symlink_to(tmp_path / "elsewhere.json")
    else:
        (tmp_path / "plans" / "a.json").mkdir()
    p = run("apply", "--plan-dir", "plans", "--yes", "--kubeconfig", "kubeconfig", cwd=tmp_path, timeout=30)
    assert p.returncode == 3 and "a.json is" in p.stderr and "nothing was applied" in p.stderr, p.stderr
    no_traceback(p)


def test_snapshot_files_are_written_through_the_file_layer(tmp_path: Path) -> None:
    from regplan.engine import recording

    ws = tmp_path / "ws"
    (ws / "snapshots").mkdir(parents=True)
    (tmp_path / "victim.yaml").write_text("precious\n")
    (ws / "snapshots" / "a.yaml").symlink_to(tmp_path / "victim.yaml")
    with pytest.raises(InvalidInput, match=r"cannot write the snapshot: .*a\.yaml: is a symlink"):
        recording.write_snapshot(ws, ws / "snapshots" / "a.yaml", "items: []\n")
    assert (tmp_path / "victim.yaml").read_text() == "precious\n"
    recording.write_snapshot(ws, ws / "snapshots" / "b.yaml", "items: []\n")
    assert (ws / "snapshots" / "b.yaml").read_text() == "items: []\n"


# --- regplan's own golden/ ----------------------------------------------------------------------------------


def project(tmp_path: Path) -> Path:
    """A project root with the fleet golden set only (fast): pyproject.toml, examples/fleet, golden/fleet."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    shutil.copytree(EXAMPLE, root / "examples" / "fleet")
    shutil.copytree(ROOT / "golden" / "fleet", root / "golden" / "fleet")
    return root


def test_project_golden_refuses_symlinks_and_reads_binary_as_differing(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert golden.run(root=root, update=False, only="fleet").code is ExitCode.OK
    (root / "golden" / "fleet" / "plan.md").write_bytes(b"\xff\xfe\x00")
    result = golden.run(root=root, update=False, only="fleet")
    assert result.code is ExitCode.CHANGES and "(not UTF-8 text, 3 bytes" in result.report
    outside = tmp_path / "outside.txt"
    outside.write_text("secret CI token\n")
    (root / "golden" / "fleet" / "plan.txt").unlink()
    (root / "golden" / "fleet" / "plan.txt").symlink_to(outside)
    for update in (False, True):
        with pytest.raises(InvalidInput, match=r"plan\.txt: is a symlink") as err:
            golden.run(root=root, update=update, only="fleet")
        assert "secret CI token" not in str(err.value)
    assert outside.read_text() == "secret CI token\n"


def test_values_files_and_key_files_refuse_fifos(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "values.yaml")
    os.mkfifo(tmp_path / "key")
    (tmp_path / "v.yaml").write_text(
        textwrap.dedent(
            f"""\
            s3: {{bucket: b-1, region: r, accessKeyFrom: "file:{tmp_path / "key"}", secretKeyFrom: env:SK}}
            """
        )
    )
    p = run("render", "-p", "ebs-gp2-rwo", "-f", "values.yaml", cwd=tmp_path, timeout=30)
    assert p.returncode == 3 and "it is a FIFO" in p.stderr
    p = run("render", "-p", "aws-s3", "-f", "v.yaml", cwd=tmp_path, timeout=30)
    assert p.returncode == 3 and "FIFO" in p.stderr, p.stderr
    no_traceback(p)


@pytest.mark.parametrize("how", ["absolute", "climbing", "symlink"])
def test_workspace_values_files_stay_inside_the_workspace(tmp_path: Path, how: str) -> None:
    from regplan.fleet import workspace as wsmod

    ws = tmp_path / "ws"
    (ws / "values").mkdir(parents=True)
    (tmp_path / "outside.yaml").write_text("replicas: 1\n")
    named = {
        "absolute": str(tmp_path / "outside.yaml"),
        "climbing": "../outside.yaml",
        "symlink": "values/link.yaml",
    }[how]
    (ws / "values" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    (ws / "regplan.yaml").write_text(
        f"clusters:\n  - name: a\n    profile: ebs-gp2-rwo\n    values: [{named}]\n"
    )
    with pytest.raises(InvalidInput, match=r"regplan\.yaml:4: cluster a: values: .*: outside the workspace"):
        wsmod.load(ws / "regplan.yaml")


def test_a_huge_file_in_the_tree_differs_and_is_rewritten(tmp_path: Path) -> None:
    """Read no further than the bound, and answered like a binary file: it differs from anything regplan
    renders, and ``golden --update`` (or ``render``) repairs it (it was refused, exit 3, and no command
    of regplan's could rewrite its own file: the outside check of issue 16)."""
    ws = workspace(tmp_path)
    assert fleet(ws, "render")[0] is ExitCode.OK
    big = ws / "rendered" / "dev-us" / "02-config-cluster.yaml"
    big.write_bytes(b"x" * (userfiles.TREE_FILE_BYTES + 1))
    code, out, _ = fleet(ws, "golden")
    assert code is ExitCode.CHANGES and f"(larger than {userfiles.TREE_FILE_BYTES} bytes" in out
    assert fleet(ws, "golden", update=True)[0] is ExitCode.OK
    assert fleet(ws, "golden")[:2] == (ExitCode.OK, "")


@pytest.mark.parametrize("spelling", ["relative", "absolute"])
def test_a_path_in_the_workspace_is_rooted_there_however_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ws").mkdir()
    base = Path("ws")
    target = (tmp_path / "ws" / "rendered" / "a") if spelling == "absolute" else Path("ws/rendered/a")
    root, rel = userfiles.Root.under(base, target)
    assert (root.path, rel) == (base, "rendered/a")
    assert userfiles.Root.under(base, tmp_path / "elsewhere")[1] == "elsewhere"  # not in it: its parent


def test_a_workspace_named_by_a_relative_path_renders_into_its_own_tree(tmp_path: Path) -> None:
    ws = example_copy(tmp_path)
    shutil.rmtree(ws / "rendered")
    p = run("render", "--workspace", "fleet/regplan.yaml", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (ws / "rendered" / "dev-us" / "kustomization.yaml").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet"]
    assert run("golden", "--check", "--workspace", "fleet/regplan.yaml", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("kind", ["symlink", "fifo", "dir"])
def test_a_workspace_snapshot_that_is_not_a_regular_file_is_refused_unread(
    tmp_path: Path, kind: str
) -> None:
    """`plan --snapshot-dir` reads each cluster's recorded snapshot inside the workspace without following a
    link (a committed `snapshots/x.yaml -> /etc/...` would read outside) and never waits on a FIFO."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLE, ws, ignore=shutil.ignore_patterns("rendered"))
    victim = ws / "snapshots" / "dev-us.yaml"
    outside = tmp_path / "outside.yaml"
    outside.write_text(victim.read_text())
    victim.unlink()
    if kind == "symlink":
        victim.symlink_to(outside)
    elif kind == "fifo":
        os.mkfifo(victim)
    else:
        victim.mkdir()
    p = subprocess.run(
        [sys.executable, "-m", "regplan", "plan", "--snapshot-dir", "snapshots", "--cluster", "dev-us"],
        cwd=ws, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert p.returncode == 3, p.stdout + p.stderr
    words = {"symlink": "a symlink", "fifo": "not a regular file", "dir": "a directory"}[kind]
    assert f"snapshots/dev-us.yaml: is {words};" in p.stdout + p.stderr, p.stderr


# --- every option naming a directory: what is there instead is named, before any work ----------------------

# What stands where a directory is named, and the file layer's words for it (a read-only directory the
# user names, --profiles-dir, follows a symlink to a directory; the others never follow one).
NOT_DIRS = {
    "fifo": "a FIFO (named pipe)",
    "file": "a regular file",
    "symlink to a file": "symlink",
    "dangling symlink": "symlink",
}
# (arguments, where the directory goes: a flag's value or a workspace key)
DIR_OPTIONS = [
    (("profiles", "--profiles-dir", "X"), None),
    (("render", "-p", "ebs-gp2-rwo", "--no-workspace", "--out-dir", "X"), None),
    (("render", "--out-dir", "X"), None),
    (("plan", "--snapshot-dir", "X"), None),
    (("status", "--snapshot-dir", "X"), None),
    (("plan", "--snapshot-dir", "snapshots", "--profiles-dir", "X"), None),
    (("plan", "--snapshot-dir", "snapshots", "--out", "X"), None),
    (("apply", "--plan-dir", "X", "--yes"), None),
    (("snapshot", "--out-dir", "X"), None),
    (("render",), "renderDir"),
    (("golden", "--check"), "renderDir"),
    (("snapshot",), "snapshotDir"),
    (("plan", "--snapshot-dir", "snapshots"), "profilesDir"),
]


@pytest.mark.parametrize("kind", sorted(NOT_DIRS))
@pytest.mark.parametrize(
    ("argv", "key"), DIR_OPTIONS, ids=[" ".join(a) + (f" {k}" if k else "") for a, k in DIR_OPTIONS]
)
def test_every_directory_option_names_what_is_there_instead(
    tmp_path: Path, argv: tuple[str, ...], key: str | None, kind: str
) -> None:
    """A FIFO, a file or a symlink where an option or a workspace key names a directory: exit 3 naming what
    it is in the file layer's words (never "not found"), no hang on the FIFO, nothing written, and no
    cluster contacted (there is no kubeconfig: contacting one would exit 4)."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLE, ws)
    (ws / "afile").write_text("x\n")
    target = ws / "X"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "file":
        target.write_text("not a directory\n")
    elif kind == "symlink to a file":
        target.symlink_to("afile")
    else:
        target.symlink_to("nowhere")
    if key is not None:
        text = (ws / "regplan.yaml").read_text()
        (ws / "regplan.yaml").write_text(text.replace("version: 1\n", f"version: 1\n{key}: X\n"))
    before = tree(ws)
    p = run(*argv, cwd=ws, timeout=30)
    no_traceback(p)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    said = p.stdout + p.stderr
    assert NOT_DIRS[kind] in said and "not found" not in said, said
    assert tree(ws) == before


def test_dir_problem_follows_a_symlink_to_a_directory_and_names_the_rest(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    os.mkfifo(tmp_path / "p")
    links = {"to-d": "d", "to-f": "f", "to-p": "p", "dangling": "nowhere\x1b[2J"}
    for name, to in links.items():
        (tmp_path / name).symlink_to(to)
    problems = {name: userfiles.dir_problem(tmp_path / name) for name in ["d", "f", "p", *links, "absent"]}
    assert problems == {
        "d": None,
        "to-d": None,  # a directory the user named through a link (dotfiles) is theirs to name
        "f": "is a regular file, not a directory",
        "p": "is a FIFO (named pipe), not a directory",
        "to-f": "is a symlink to a regular file, not a directory",
        "to-p": "is a symlink to a FIFO (named pipe), not a directory",
        "dangling": "is a symlink to 'nowhere\\u001b[2J', which does not exist",
        "absent": "no such directory",
    }


def test_a_symlinks_target_is_quoted_by_the_one_rule(tmp_path: Path) -> None:
    """What a link says is anyone's text (a pull request's): its refusal quotes it on one line, bounded."""
    from regplan.base import escape

    to = "../x\nregplan: all clusters ok\x1b]0;t\x07" + "y" * 500
    (tmp_path / "d").symlink_to(to)
    changes = userfiles.Changes(userfiles.Root(tmp_path, str(tmp_path)))
    changes.write("d/f", "x")
    with pytest.raises(userfiles.FileRefused) as err:
        changes.commit()
    assert f"is a symlink (to {escape.quoted(to)})" in str(err.value)
    assert escape.UNSAFE_OR_BREAK.search(str(err.value)) is None and len(str(err.value)) < 400
