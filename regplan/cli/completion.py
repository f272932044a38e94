"""Shell completion: typer's scripts for bash, zsh and fish, and the lists no parser knows.

The scripts are typer's: the shell runs ``regplan`` with ``_REGPLAN_COMPLETE=complete_SHELL`` (and the words
typed so far) and offers what it prints. The answer comes from the one command-line definition
(``cli.root_command``): commands, options, choices, and three lists from outside it, given here: profile
names (``-p``), kubeconfig context names (``--context``) and the clusters of the workspace (``--cluster``).
An empty answer lets the shell complete file names (values files, plan files, snapshots).

A candidate is offered only as printable text on one line (``safe``): a context or profile name holding a
line break or a control character (from a kubeconfig or a profiles directory) would forge more candidates
or write to the terminal. bash, which inserts a candidate unquoted, gets only candidates that are one shell
word as they are (``safe_for``): a name holding ``$(...)``, a quote or a blank would run there.
Candidates carry no help text: typer would import rich to render it, on every Tab.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer._click import Command

SHELLS = ("bash", "zsh", "fish")


def script(shell: str, prog: str = "regplan", complete_var: str = "_REGPLAN_COMPLETE") -> str:
    """The completion script of ``shell`` (typer's), ending with a newline."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=prog, complete_var=complete_var, shell=shell) + "\n"


def _plain_classes() -> dict[str, Any]:
    """typer's completion classes, answering with safe candidates and no help text."""
    from typer._click.shell_completion import CompletionItem
    from typer._completion_classes import BashComplete, FishComplete, ZshComplete

    def plain(base: Any) -> Any:
        class Plain(base):  # type: ignore[misc]
            def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
                items = super().get_completions(args, incomplete)
                shell = str(base.name)
                return [CompletionItem(i.value, type=i.type) for i in items if safe_for(shell, str(i.value))]

        return Plain

    return {c.name: plain(c) for c in (BashComplete, ZshComplete, FishComplete)}


def safe(candidate: str) -> bool:
    """A candidate the shells may get: one line of text that shows as it is (``escape.UNSAFE_OR_BREAK``)."""
    from regplan.base.escape import UNSAFE_OR_BREAK

    return bool(candidate) and not UNSAFE_OR_BREAK.search(candidate)


# What a bash candidate may hold: the characters that are one shell word as they are (shlex's safe set,
# less ``%`` and ``=``). bash inserts a candidate into the command line unquoted (zsh and fish quote it),
# so a context named ``$(touch x)`` (from a kubeconfig a cloud console wrote) would become a command
# substitution that runs when the user presses Enter; bash is not offered such a name.
_SHELL_WORD = re.compile(r"[A-Za-z0-9@+:,./_-]+")


def safe_for(shell: str, candidate: str) -> bool:
    """``safe``, and for bash also one shell word as it is (``_SHELL_WORD``)."""
    return safe(candidate) and (shell != "bash" or bool(_SHELL_WORD.fullmatch(candidate)))


def answer(root: Command, prog: str, complete_var: str) -> int:
    """Answer the shell (``complete_var`` is set): typer's protocol, our classes. Returns the exit code."""
    from typer._click.shell_completion import add_completion_class
    from typer.completion import shell_complete

    for name, cls in _plain_classes().items():
        add_completion_class(cls, name)
    return shell_complete(root, {}, prog, complete_var, os.environ[complete_var])


def candidates(root: Command, words: Sequence[str], current: str) -> list[str]:
    """The candidates for ``current`` after ``words`` (the words after the program name), as the shells get
    them."""
    cls = _plain_classes()["bash"]
    return [str(i.value) for i in cls(root, {}, "regplan", "_REGPLAN_COMPLETE").get_completions(
        list(words), current)]  # fmt: skip


def profile_names(profiles_dir: str | Path | None) -> list[str]:
    """The profiles ``-p`` accepts (built-in and those of ``--profiles-dir`` / REGPLAN_PROFILES_DIR)."""
    from regplan.base.errors import RegplanError
    from regplan.core import values

    try:
        rows = values.list_profiles(profiles_dir=Path(profiles_dir) if profiles_dir else None)
    except RegplanError:
        rows = values.list_profiles(profiles_dir=None)
    return [name for name, _ in rows if safe(name)]


def context_names(kubeconfig: str | None) -> list[str]:
    """Context names of the kubeconfig(s) the command would use (found and read as the connection reads
    them: ``cluster.kubeconfig``); nothing from a file that cannot be read."""
    from regplan.base.errors import RegplanError
    from regplan.cluster import kubeconfig as kc

    names: list[str] = []
    for path in kc.kubeconfig_paths(kubeconfig, os.environ):
        try:
            found = kc.read_kubeconfig(path).entries.get("contexts", {})
        except RegplanError:
            continue
        names += [name for name in found if isinstance(name, str) and safe(name) and name not in names]
    return names


def cluster_names(workspace: str | None) -> list[str]:
    """The clusters of the workspace the command would use (``--workspace``, else regplan.yaml upwards)."""
    from regplan.base.errors import RegplanError
    from regplan.fleet import workspace as wsmod

    path = Path(workspace) if workspace else wsmod.find(Path.cwd())
    if path is None:
        return []
    try:
        return [c.name for c in wsmod.load(path).clusters if safe(c.name)]
    except (OSError, RegplanError):
        return []
