"""Shell completion: the scripts for bash, zsh and fish, and the candidates they ask for.

The scripts are thin: each calls ``regplan __complete CURRENT WORD...`` (the word being completed, then the
words before it, without the program name) and offers what it prints, one candidate a line. The candidates
come from the one parser definition (``cli.build_parser``): subcommands, their options, the choices of an
option, and two lists from outside it: profile names (``-p``) and kubeconfig context names (``--context``).
An empty answer lets the shell complete file names (values files, plan files, snapshots).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

_BASH = """\
# regplan completion for bash: source <(regplan completion bash)
_regplan() {
    local IFS=$'\\n' cur="${COMP_WORDS[COMP_CWORD]}"
    COMPREPLY=($(regplan __complete "$cur" "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null))
}
complete -o default -o bashdefault -F _regplan regplan
"""

_ZSH = """\
#compdef regplan
# regplan completion for zsh: regplan completion zsh > "${fpath[1]}/_regplan"
_regplan() {
    local -a candidates
    candidates=(${(f)"$(regplan __complete "${words[CURRENT]}" "${(@)words[2,CURRENT-1]}" 2>/dev/null)"})
    if (( ${#candidates} )); then
        compadd -a candidates
    else
        _files
    fi
}
compdef _regplan regplan
"""

_FISH = """\
# regplan completion for fish: regplan completion fish > ~/.config/fish/completions/regplan.fish
function __regplan_complete
    set -l words (commandline -opc)
    regplan __complete (commandline -ct | string collect --allow-empty) $words[2..-1] 2>/dev/null
end
complete -c regplan -a '(__regplan_complete)'
"""

SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def script(shell: str) -> str:
    return SCRIPTS[shell]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its actions here; there is no public accessor
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def candidates(parser: argparse.ArgumentParser, args: Sequence[str]) -> list[str]:
    """What may come next: ``args`` = [current word, words before it...] (``__complete``'s arguments)."""
    current, words = (args[0], list(args[1:])) if args else ("", [])
    commands = _subparsers(parser)
    command = next((w for w in words if w in commands), None)
    if command is None:
        pool = (
            [c for c in commands if not c.startswith("_")]
            if not current.startswith("-")
            else ["--help", "--version"]
        )
        return sorted(c for c in pool if c.startswith(current))
    sub = commands[command]
    options = _options(sub)
    previous = words[-1] if words else ""
    action = options.get(previous)
    if action is not None and action.nargs != 0:
        return sorted(v for v in _values_for(action, words) if v.startswith(current))
    if current.startswith("-"):
        return sorted(o for o in options if (o.startswith(current) and o.startswith("--")) or o == current)
    return []


def _values_for(action: argparse.Action, words: list[str]) -> list[str]:
    if action.choices:
        return [str(c) for c in action.choices]
    if action.dest == "profile":
        return _profile_names(words)
    if action.dest == "context":
        return _contexts(words)
    if action.dest == "clusters":
        return _cluster_names(words)
    return []  # a file or free text: the shell completes file names


def _flag_value(words: list[str], *flags: str) -> str | None:
    for i, word in enumerate(words):
        for flag in flags:
            if word == flag and i + 1 < len(words):
                return words[i + 1]
            if word.startswith(flag + "="):
                return word.split("=", 1)[1]
    return None


def _profile_names(words: list[str]) -> list[str]:
    from regplan import values
    from regplan.errors import RegplanError

    given = _flag_value(words, "--profiles-dir") or os.environ.get("REGPLAN_PROFILES_DIR")
    try:
        return [name for name, _ in values.list_profiles(profiles_dir=Path(given) if given else None)]
    except RegplanError:
        return [name for name, _ in values.list_profiles(profiles_dir=None)]


def _contexts(words: list[str]) -> list[str]:
    """Context names of the kubeconfig(s) the command would use (found and read as the connection reads
    them: ``cluster.kubeconfig``); nothing from a file that cannot be read."""
    from regplan.cluster import kubeconfig as kc
    from regplan.errors import RegplanError

    names: list[str] = []
    for path in kc.kubeconfig_paths(_flag_value(words, "--kubeconfig"), os.environ):
        try:
            found = kc.read_kubeconfig(path).entries.get("contexts", {})
        except RegplanError:
            continue
        names += [name for name in found if name not in names]
    return names


def _cluster_names(words: list[str]) -> list[str]:
    """The clusters of the workspace the command would use (``--workspace``, else regplan.yaml upwards)."""
    from regplan import workspace
    from regplan.errors import RegplanError

    given = _flag_value(words, "--workspace")
    path = Path(given) if given else workspace.find(Path.cwd())
    if path is None:
        return []
    try:
        return [c.name for c in workspace.load(path).clusters]
    except (OSError, RegplanError):
        return []
