"""A path that is there but is not a regular file is named for what it is, never "no such file" (in the
file layer's words, as ``userfiles.dir_problem`` names what is not a directory).

The outside check of issue 16: ``--workspace FIFO`` (or a directory, ``/dev/null``) and a values file of
``regplan.yaml`` that is a FIFO or a directory said "no such file", and a symlink loop said "outside the
workspace". One wording now answers every "is it there?" check (``userfiles.not_a_file``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from regplan.base import userfiles
from regplan.base.errors import InvalidInput
from regplan.cli import commands
from regplan.fleet import workspace as wsmod

ROOT = Path(__file__).resolve().parents[2]


def make(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"the-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "dangling":
        path.symlink_to("nowhere")
    elif kind == "loop":
        path.symlink_to(path.name)
    elif kind == "file":
        path.write_text("a: 1\n")
    elif kind == "link-to-file":
        (tmp_path / "target.yaml").write_text("a: 1\n")
        path.symlink_to("target.yaml")
    return path


EXPECTED = {
    "missing": "no such file",
    "fifo": "is a FIFO (named pipe), not a regular file",
    "dir": "is a directory, not a regular file",
    "dangling": "is a symlink to 'nowhere', which does not exist",
    "loop": "cannot read the file: Too many levels of symbolic links",
    "file": "",
    "link-to-file": "",
}


@pytest.mark.parametrize(("kind", "words"), EXPECTED.items())
def test_not_a_file_says_what_is_there(tmp_path: Path, kind: str, words: str) -> None:
    assert userfiles.not_a_file(make(tmp_path, kind)) == words


def test_a_device_is_named() -> None:
    assert userfiles.not_a_file(Path("/dev/null")) == "is a character device, not a regular file"


@pytest.mark.parametrize("kind", ["missing", "fifo", "dir", "dangling", "loop"])
def test_workspace_option_names_what_is_there(tmp_path: Path, kind: str) -> None:
    path = make(tmp_path, kind)
    with pytest.raises(InvalidInput) as err:
        commands._workspace(commands.FleetOptions(command="render", workspace=path))
    assert str(err.value) == f"--workspace {path}: {EXPECTED[kind]}"


@pytest.mark.parametrize("kind", ["missing", "fifo", "dir", "dangling", "loop"])
def test_a_values_file_of_the_workspace_names_what_is_there(tmp_path: Path, kind: str) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "fleet", ws)
    make(ws, kind)
    text = (ws / "regplan.yaml").read_text().replace("values: [values/ebs.yaml]", f"values: [the-{kind}]", 1)
    (ws / "regplan.yaml").write_text(text)
    with pytest.raises(InvalidInput) as err:
        wsmod.load(ws / "regplan.yaml")
    assert f"values: the-{kind}: {EXPECTED[kind]}" in str(err.value)
    assert "outside the workspace" not in str(err.value)
