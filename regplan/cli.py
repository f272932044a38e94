"""The command line: the ONE definition of regplan's commands, options, help and completion.

Built on ``argparse`` (standard library), not typer: typer 0.29 costs 90-120 ms of import plus ~150 ms of
pydantic adapters per run, more than a whole ``regplan render`` (docs/ARCHITECTURE.md, "The command line",
has the measurements). This module parses, maps the arguments onto the typed options objects of
``regplan.commands`` and calls the command bodies there; it holds no logic of its own beyond that.

It is also where printing ends: usage errors and expected errors (``RegplanError``) print one line
``regplan: ...`` on stderr and exit with their documented code (README, "Exit codes"); a closed stdout
(``regplan plan | head``) ends quietly with 141; anything else is a bug (exit 1, traceback with
``REGPLAN_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from regplan import __version__
from regplan import commands as cmd
from regplan.errors import ExitCode, InvalidInput, RegplanError
from regplan.escape import terminal

PROG = "regplan"
WIDTH = 80
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away


class UsageError(InvalidInput):
    """A command line argparse refused (exit 3), with the command it belongs to."""


# --- argument types: messages in regplan's words, never a library's ---------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """``30s``, ``5m``, ``1m30s``, ``1.5h``, ``250ms`` or plain seconds (``300``) -> seconds (>= 0)."""
    s = text.strip()
    if s.startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r}: a duration cannot be negative")
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise argparse.ArgumentTypeError(f"{text!r}: not a duration (e.g. 300, 30s, 5m, 1m30s)")
    return total


def _nonempty(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    return text


# --- parser -----------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised as ``UsageError`` (exit 3) instead of printed with exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(
            f"{self.prog.removeprefix(PROG + ' ') or PROG}: {message} (see `{self.prog} --help`)"
        )


class _Help(argparse.RawDescriptionHelpFormatter):
    """80 columns; each option's help ends with its choices and default; examples kept as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=WIDTH, max_help_position=30)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.choices and "one of" not in text:
            text += f" One of: {', '.join(map(str, action.choices))}."
        default = action.default
        if (
            default not in (None, False, argparse.SUPPRESS, [], ())
            and action.option_strings
            and "default" not in text.lower()
            and not isinstance(action, argparse.BooleanOptionalAction)
        ):
            text += f" Default: {default}."
        if isinstance(action, argparse.BooleanOptionalAction):
            text += f" Default: {'--' if default else '--no-'}{action.dest.replace('_', '-')}."
        return text


def _value_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "-p",
        "--profile",
        required=required,
        metavar="NAME",
        type=_nonempty,
        help="Profile name (see `regplan profiles`).",
    )
    p.add_argument(
        "-f",
        "--values",
        dest="values_files",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="Values file (YAML); repeatable, later files win.",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Set values after the values files, helm style: KEY=VALUE[,KEY=VALUE...] (\\, is a comma; "
        "KEY=null removes the key); typed by the schema. Repeatable.",
    )
    p.add_argument(
        "--set-string",
        dest="set_strings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Like --set, but the values stay strings (a bucket named 123). Repeatable.",
    )
    _profiles_dir(p)


def _profiles_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profiles-dir",
        type=Path,
        metavar="DIR",
        default=None,
        help="Directory of user profiles (env REGPLAN_PROFILES_DIR).",
    )


def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--kubeconfig",
        metavar="FILE[:FILE...]",
        type=_nonempty,
        help="Kubeconfig file(s). Default: $KUBECONFIG, ~/.kube/config, in-cluster.",
    )
    p.add_argument(
        "--context", metavar="NAME", type=_nonempty, help="Kubeconfig context. Default: the current context."
    )


def _target(p: argparse.ArgumentParser, *, live: bool) -> None:
    choices, default = (cmd.LIVE_TARGETS, "auto") if live else (cmd.TARGETS, "ocp4")
    p.add_argument(
        "--target",
        choices=choices,
        default=default,
        metavar="TARGET",
        help="OpenShift 4 (operator Config) or 3 (DeploymentConfig)"
        + ("; auto detects it." if live else "."),
    )


def _output(p: argparse.ArgumentParser, choices: Sequence[str], what: str) -> None:
    p.add_argument("-o", "--output", choices=choices, default=choices[0], metavar="FORMAT", help=what)


def _color(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        metavar="WHEN",
        help="Colour the text output; auto: on a terminal unless NO_COLOR is set.",
    )


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line. Help, completion and the tests read this one definition."""
    root = _Parser(
        prog=PROG,
        formatter_class=_Help,
        allow_abbrev=False,
        description="Plan and apply OpenShift image-registry storage changes declaratively.",
        epilog=_examples(
            "regplan profiles",
            "regplan plan -p ebs-gp2-rwo",
            "regplan apply -p ebs-gp2-rwo",
            "regplan render -p glusterfs --target ocp3 > out.yaml",
        )
        + "\n\nexit codes: 0 ok; 2 changes (--detailed-exitcode) or golden differs;\n"
        "3 invalid input; 4 cluster or API error; 5 stale plan, conflict or lock held;\n"
        "6 replace refused; 1 a bug (REGPLAN_DEBUG=1 shows the traceback).",
    )
    root.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = root.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)
    sub.required = True

    def command(name: str, summary: str, examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=textwrap.fill(summary, WIDTH),
            epilog=examples,
            formatter_class=_Help,
            allow_abbrev=False,
        )

    p = command("profiles", "List the profiles with a one-line description.", _examples("regplan profiles"))
    _profiles_dir(p)

    p = command(
        "render",
        "Render a profile as manifests for `oc apply -f -` (or as oc commands). No cluster needed.",
        _examples(
            "regplan render -p ebs-gp2-rwo > registry.yaml",
            "regplan render -p glusterfs --target ocp3",
            "regplan render -p cephfs-rwx -f values.yaml --set replicas=3",
            "regplan render -p ebs-gp2-rwo -o oc",
            "regplan render -p ebs-gp2-rwo --out-dir deploy/",
        ),
    )
    _value_options(p, required=False)  # in a workspace each cluster has its profile
    _target(p, live=False)
    _output(
        p,
        cmd.RENDER_OUTPUTS,
        "yaml: multi-document; json: a v1 List; oc: the equivalent oc commands; "
        "inventory: openshift-ansible inventory lines (3.x).",
    )
    p.add_argument(
        "--out-dir",
        type=Path,
        metavar="DIR",
        help="Write one YAML file per object plus kustomization.yaml (replaces DIR as a whole).",
    )

    p = command(
        "validate",
        "Check values against the schema and the domain rules, without a cluster.",
        _examples(
            "regplan validate -p ebs-gp2-rwo --set replicas=2", "regplan validate -p aws-s3 -f values.yaml"
        ),
    )
    _value_options(p)
    _target(p, live=False)

    p = command(
        "plan",
        "Show exactly what apply would change, and why. Nothing is written.",
        _examples(
            "regplan plan -p ebs-gp2-rwo",
            "regplan plan -p ebs-gp2-rwo -o json --detailed-exitcode",
            "regplan plan -p ebs-gp2-rwo --out plan.json && regplan apply plan.json",
            "regplan plan -p glusterfs --snapshot live.yaml",
        ),
    )
    _value_options(p, required=False)  # in a workspace each cluster has its profile
    _target(p, live=True)
    _cluster_options(p)
    p.add_argument(
        "--snapshot",
        type=Path,
        metavar="FILE",
        help="Plan against live state read from this file (`oc get -o yaml` output), offline.",
    )
    p.add_argument("--out", type=Path, metavar="PLANFILE", help="Save the plan for `regplan apply PLANFILE`.")
    _output(p, cmd.PLAN_OUTPUTS, "text for people; json/yaml: the versioned plan document.")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="Exit 2 when there are changes, 0 when there are none.",
    )
    _color(p)

    p = command(
        "apply",
        "Make the cluster match the profile: exactly the planned writes, nothing lost by surprise.",
        _examples(
            "regplan apply plan.json",
            "regplan apply plan.json --allow-replace",
            "regplan apply -p aws-s3 -f values.yaml --yes",
            "regplan apply -p ebs-gp2-rwo --no-wait",
        ),
    )
    p.add_argument(
        "planfile",
        nargs="?",
        type=Path,
        metavar="PLANFILE",
        help="A plan saved with `regplan plan --out` (or use -p).",
    )
    _value_options(p, required=False)
    _target(p, live=True)
    _cluster_options(p)
    p.add_argument("-y", "--yes", action="store_true", help="Do not ask for confirmation.")
    p.add_argument(
        "--allow-replace", action="store_true", help="Allow delete + create of a claim (its data is lost)."
    )
    p.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Wait until the claim is Bound and the registry rolled out.",
    )
    p.add_argument(
        "--timeout",
        type=duration,
        default=cmd.ApplyOptions.timeout,
        metavar="DURATION",
        help="How long --wait waits (300, 30s, 5m). Default: 5m.",
    )
    p.add_argument(
        "--lock-timeout",
        type=duration,
        default=cmd.ApplyOptions.lock_timeout,
        metavar="DURATION",
        help="How long to wait for another apply's lock. Default: 1m.",
    )
    _output(p, cmd.APPLY_OUTPUTS, "The report: text, or json (the plan then goes to stderr).")
    _color(p)

    p = command(
        "verify",
        "Check that the registry really uses the storage the profile says: its workload's volume, mount and "
        "storage driver, the claim Bound, the rollout finished. Exit 0 verified, 2 not.",
        _examples(
            "regplan verify -p ebs-gp2-rwo",
            "regplan verify -p aws-s3 -f values.yaml -o json",
        ),
    )
    _value_options(p)
    _target(p, live=True)
    _cluster_options(p)
    p.add_argument("--snapshot", type=Path, metavar="FILE", help="Read live state from a file, offline.")
    _output(p, cmd.VERIFY_OUTPUTS, "text for people; json for scripts.")
    _color(p)

    p = command(
        "show",
        "Show a plan saved with `regplan plan --out`: text, JSON, or markdown for a pull request.",
        _examples(
            "regplan show plan.json",
            "regplan show plan.json -o markdown > comment.md",
        ),
    )
    p.add_argument("planfile", type=Path, metavar="PLANFILE", help="A plan saved with `regplan plan --out`.")
    _output(p, cmd.SHOW_OUTPUTS, "text for people; json: the plan document; markdown: a PR comment.")
    _color(p)

    p = command(
        "status",
        "What storage the registry uses now: backend, replicas, claim phase and events, conditions.",
        _examples("regplan status", "regplan status -o json", "regplan status --snapshot live.yaml"),
    )
    _cluster_options(p)
    _target(p, live=True)
    p.add_argument("--snapshot", type=Path, metavar="FILE", help="Read live state from a file, offline.")
    _profiles_dir(p)
    _output(p, cmd.STATUS_OUTPUTS, "text for people; json/yaml for scripts.")
    _color(p)

    p = command(
        "golden",
        "Check or rewrite a workspace's rendered/ tree (regplan.yaml; docs/fleet.md).",
        _examples("regplan golden --check", "regplan golden --update"),
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--check", action="store_true", help="Compare with rendered/; exit 2 and a diff if they differ."
    )
    mode.add_argument("--update", action="store_true", help="Rewrite rendered/ (as render does).")

    p = command(
        "completion",
        "Print a shell completion script (profile names, contexts, options).",
        _examples(
            "regplan completion bash > ~/.local/share/bash-completion/completions/regplan",
            "source <(regplan completion bash)",
            'regplan completion zsh > "${fpath[1]}/_regplan"',
            "regplan completion fish > ~/.config/fish/completions/regplan.fish",
        ),
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish.")

    p = command(
        "snapshot",
        "Record, per cluster of the workspace, the live objects plan and status read (Secret values "
        "redacted, safe to commit), for offline plans: `regplan plan --snapshot-dir DIR`.",
        _examples("regplan snapshot", "regplan snapshot -l env=prod --out-dir snapshots/"),
    )
    p.add_argument("--out-dir", type=Path, metavar="DIR", help="Where to write. Default: snapshotDir.")
    _cluster_options(p)
    _profiles_dir(p)
    p = command(
        "argocd-generate",
        "The Argo CD Config Management Plugin's generate command: one workspace cluster's manifests "
        "(parameter `cluster` or env ARGOCD_ENV_REGPLAN_CLUSTER), no secret values.",
        _examples("regplan argocd-generate   # cwd: the app's path; see deploy/argocd/plugin.yaml"),
    )
    _fleet_arguments(sub.choices)
    return root


# --- a workspace of clusters (docs/fleet.md) ---------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be at least 1")
    return n


def _fleet_arguments(commands: Mapping[str, argparse.ArgumentParser]) -> None:
    """The workspace options of the commands that run over clusters (cmd.FLEET_COMMANDS)."""
    for name in cmd.FLEET_COMMANDS:
        p = commands[name]
        group = p.add_argument_group("workspace (regplan.yaml; docs/fleet.md)")
        group.add_argument(
            "--workspace",
            type=Path,
            metavar="FILE",
            help="The workspace file. Default: regplan.yaml here or in a parent directory (the command "
            "then says on stderr which file it uses).",
        )
        if name not in ("snapshot", "golden"):  # workspace commands only
            group.add_argument(
                "--no-workspace",
                action="store_true",
                help="One cluster, even where a regplan.yaml is found (as outside a workspace).",
            )
        group.add_argument(
            "--cluster",
            dest="clusters",
            action="append",
            default=[],
            metavar="NAME",
            help="Only this cluster of the workspace; repeatable. Default: all.",
        )
        group.add_argument(
            "-l", "--selector", default="", metavar="SELECTOR", help="Only clusters whose labels match, e.g. "
            "env=prod,region!=eu (kubectl syntax: =, ==, !=, in, notin, key, !key). Default: all."
        )  # fmt: skip
        if name in ("plan", "apply", "status", "snapshot"):
            group.add_argument(
                "--parallelism",
                type=_positive,
                metavar="N",
                help="Clusters worked on at once. Default: 8.",
            )
        if name in ("plan", "status"):
            group.add_argument(
                "--snapshot-dir",
                type=Path,
                metavar="DIR",
                help="Offline: each cluster against DIR/<cluster>.yaml (`regplan snapshot`).",
            )
        if name == "apply":
            _apply_fleet_arguments(group)
        if name != "plan":
            continue
        for action in p._actions:  # argparse has no public accessor; the choices gain the PR comment
            if action.dest != "output":
                continue
            action.choices = cmd.FLEET_PLAN_OUTPUTS
            action.help = (
                "text for people; json/yaml: the versioned plan document; markdown: a pull-request "
                "comment (workspace only)."
            )


def _apply_fleet_arguments(group: Any) -> None:
    group.add_argument(
        "--plan-dir", type=Path, metavar="DIR", help="Apply the plans saved by `regplan plan --out DIR`."
    )
    group.add_argument(
        "--max-failures",
        type=_positive,
        metavar="N",
        help="Start no more clusters after N have failed (running ones finish). Default: no limit.",
    )


# What marks a command line as single-cluster (then it runs exactly as outside a workspace).
_SINGLE_FLAGS: tuple[tuple[str, str], ...] = (
    ("profile", "-p/--profile"),
    ("planfile", "PLANFILE"),
    ("snapshot", "--snapshot"),
    ("context", "--context"),
    ("no_workspace", "--no-workspace"),
)
_SELECTION_FLAGS: tuple[tuple[str, str], ...] = (
    ("workspace", "--workspace"),
    ("clusters", "--cluster"),
    ("selector", "-l/--selector"),
    ("snapshot_dir", "--snapshot-dir"),
    ("plan_dir", "--plan-dir"),
    ("max_failures", "--max-failures"),
    ("parallelism", "--parallelism"),
)


def _fleet_options(ns: argparse.Namespace, env: Mapping[str, str]) -> cmd.FleetOptions | None:
    """The fleet options when the command line is about a workspace, None for a single-cluster one.

    The ONE step that decides the mode (docs/fleet.md, "One cluster or a workspace"):
    single-cluster: -p, a PLANFILE, --snapshot, --context or --no-workspace given;
    workspace: --workspace/--cluster/-l/... given, or none of the above and a regplan.yaml found here or
    in a parent directory - then the command says so on stderr (``found``). ``snapshot`` is always a
    workspace command; ``golden`` is a workspace command only (regplan's own golden files are project
    tooling: ``make golden``).
    """
    if ns.command not in cmd.FLEET_COMMANDS:
        return None
    single = [flag for dest, flag in _SINGLE_FLAGS if getattr(ns, dest, None)]
    chosen = [flag for dest, flag in _SELECTION_FLAGS if getattr(ns, dest, None) not in (None, "", [], False)]
    if single and chosen:
        raise UsageError(
            f"{ns.command}: {single[0]} is for one cluster; it cannot be combined with {chosen[0]} "
            f"(in a workspace each cluster has its own; see `regplan {ns.command} --help`)"
        )
    if single and getattr(ns, "output", "") == "markdown":
        raise UsageError(f"{ns.command}: -o markdown summarises a workspace (regplan.yaml), not one cluster")
    if single:
        if ns.command in ("render", "plan") and not ns.profile:
            raise _profile_required(ns.command)
        return None
    found = None
    if ns.command != "snapshot" and not chosen:
        from regplan import workspace

        found = workspace.find(Path.cwd())
        if found is None:
            if ns.command == "golden":
                raise UsageError(
                    "golden: no regplan.yaml here or in a parent directory: `regplan golden` checks a "
                    "workspace's rendered/ tree (docs/fleet.md); --workspace FILE names one"
                )
            if ns.command in ("render", "plan"):
                raise _profile_required(ns.command)
            if getattr(ns, "output", "") == "markdown":
                raise UsageError(f"{ns.command}: -o markdown summarises a workspace (regplan.yaml)")
            return None
    if ns.command in ("render", "plan", "apply") and (ns.values_files or ns.sets or ns.set_strings):
        raise UsageError(
            f"{ns.command}: -f/--set/--set-string go with -p PROFILE; in a workspace each cluster lists its "
            "values"
        )
    return cmd.FleetOptions(
        command=ns.command,
        workspace=ns.workspace or found,
        found=found is not None,
        clusters=tuple(ns.clusters),
        selector=ns.selector,
        parallelism=getattr(ns, "parallelism", None),
        output=getattr(ns, "output", "text") if ns.command not in ("render", "golden") else
        cmd.FLEET_OUTPUTS[ns.command][0],
        out=getattr(ns, "out", None) or getattr(ns, "out_dir", None),
        snapshot_dir=getattr(ns, "snapshot_dir", None),
        plan_dir=getattr(ns, "plan_dir", None),
        detailed_exitcode=getattr(ns, "detailed_exitcode", False),
        update=getattr(ns, "update", False),
        kubeconfig=getattr(ns, "kubeconfig", None),
        profiles_dir=_dir(ns, env) if hasattr(ns, "profiles_dir") else None,
        apply=_options(cmd.ApplyOptions, ns, values=None) if ns.command == "apply" else cmd.ApplyOptions(),
        max_failures=getattr(ns, "max_failures", None),
    )  # fmt: skip


def _profile_required(command: str) -> UsageError:
    return UsageError(
        f"{command}: the following arguments are required: -p/--profile (see `regplan {command} --help`)"
    )


def _run_fleet(o: cmd.FleetOptions, rep: cmd.Reporter, env: Mapping[str, str]) -> ExitCode:
    return cmd.fleet(o, reporter=rep, confirm=confirm, environ=env)


# --- arguments -> options objects -------------------------------------------------------------------


def _values(ns: argparse.Namespace, environ: Mapping[str, str]) -> cmd.ValueOptions:
    return cmd.ValueOptions(
        profile=ns.profile,
        values_files=tuple(ns.values_files),
        sets=tuple(ns.sets),
        set_strings=tuple(ns.set_strings),
        profiles_dir=_dir(ns, environ),
    )


def _dir(ns: argparse.Namespace, environ: Mapping[str, str]) -> Path | None:
    if ns.profiles_dir is not None:
        return Path(ns.profiles_dir)
    env = environ.get("REGPLAN_PROFILES_DIR")
    return Path(env) if env else None


def _cluster(ns: argparse.Namespace) -> cmd.ClusterOptions:
    return cmd.ClusterOptions(kubeconfig=ns.kubeconfig, context=ns.context)


def color_enabled(when: str, *, isatty: bool, environ: Mapping[str, str]) -> bool:
    """``--color``: always / never, or auto = a terminal and NO_COLOR unset or empty (no-color.org)."""
    if when == "always":
        return True
    if when == "never":
        return False
    return isatty and not environ.get("NO_COLOR")


def confirm(question: str) -> bool:
    """Ask on stderr, read the answer from stdin: only ``y``/``yes`` confirms."""
    sys.stderr.write(terminal(f"{question} [y/N]: "))
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


T = TypeVar("T")


def _options(cls: type[T], ns: argparse.Namespace, **given: Any) -> T:
    """The options object ``cls`` from the parsed arguments: each field from the argument of the same
    name (dest), except those ``given`` (the nested groups: values, cluster)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    return cls(**{n: getattr(ns, n) for n in names if n not in given and hasattr(ns, n)}, **given)


def _apply_options(ns: argparse.Namespace, env: Mapping[str, str]) -> cmd.ApplyOptions:
    if (ns.planfile is None) == (ns.profile is None):
        raise UsageError("apply: give either a PLANFILE or -p PROFILE (see `regplan apply --help`)")
    if ns.planfile is not None and (ns.values_files or ns.sets or ns.set_strings):
        raise UsageError("apply: -f/--set go with -p PROFILE; a PLANFILE carries its own values")
    values = _values(ns, env) if ns.profile else None
    return _options(cmd.ApplyOptions, ns, values=values, cluster=_cluster(ns))


def _live_options(cls: type[T], ns: argparse.Namespace, **given: Any) -> T:
    _no_snapshot_with_cluster(ns)
    return _options(cls, ns, cluster=_cluster(ns), **given)


# command -> parsed arguments -> its typed options object (the one place the two meet).
_OPTIONS: dict[str, Callable[[argparse.Namespace, Mapping[str, str]], Any]] = {
    "profiles": lambda ns, env: cmd.ProfilesOptions(profiles_dir=_dir(ns, env)),
    "render": lambda ns, env: _options(cmd.RenderOptions, ns, values=_values(ns, env)),
    "validate": lambda ns, env: _options(cmd.ValidateOptions, ns, values=_values(ns, env)),
    "plan": lambda ns, env: _live_options(cmd.PlanOptions, ns, values=_values(ns, env)),
    "apply": _apply_options,
    "status": lambda ns, env: _live_options(cmd.StatusOptions, ns, profiles_dir=_dir(ns, env)),
    "show": lambda ns, env: _options(cmd.ShowOptions, ns),
    "verify": lambda ns, env: _live_options(cmd.VerifyOptions, ns, values=_values(ns, env)),
    "completion": lambda ns, env: _options(cmd.CompletionOptions, ns),
    "argocd-generate": lambda ns, env: cmd.ArgoGenerateOptions(),
}

# command -> how to run its body with the options object, a cmd.Reporter and the environment.
_RUN: dict[str, Callable[[Any, cmd.Reporter, Mapping[str, str]], ExitCode]] = {
    "profiles": lambda o, rep, env: cmd.profiles(o, reporter=rep),
    "render": lambda o, rep, env: cmd.render(o, reporter=rep, environ=env),
    "validate": lambda o, rep, env: cmd.validate(o, reporter=rep, environ=env),
    "plan": lambda o, rep, env: cmd.plan(o, reporter=rep, environ=env),
    "apply": lambda o, rep, env: cmd.apply(o, reporter=rep, confirm=confirm, environ=env),
    "status": lambda o, rep, env: cmd.status(o, reporter=rep, environ=env),
    "show": lambda o, rep, env: cmd.show(o, reporter=rep),
    "verify": lambda o, rep, env: cmd.verify(o, reporter=rep, environ=env),
    "completion": lambda o, rep, env: cmd.completion(o, reporter=rep),
    "argocd-generate": lambda o, rep, env: cmd.argocd_generate(o, reporter=rep, environ=env),
    "snapshot": _run_fleet,  # always a workspace command (parse returns FleetOptions)
}


@dataclass(frozen=True)
class Parsed:
    """A parsed command line: the command, its typed options object, and ``--color`` (if it has one)."""

    command: str
    options: Any
    color: str = "never"


def parse(argv: Sequence[str], *, environ: Mapping[str, str] | None = None) -> Parsed:
    """``argv`` (without the program name) -> ``Parsed``; raises UsageError (exit 3)."""
    env = os.environ if environ is None else environ
    ns, extra = build_parser().parse_known_args(list(argv))
    if extra:  # reported against the command they were given to, not the top-level parser
        raise UsageError(
            f"{ns.command}: unknown option or extra argument: {' '.join(extra)} "
            f"(see `regplan {ns.command} --help`)"
        )
    fleet = _fleet_options(ns, env)  # None: a single-cluster command line, exactly as outside a workspace
    if fleet is not None:
        return Parsed(ns.command, fleet, getattr(ns, "color", "never"))
    return Parsed(ns.command, _OPTIONS[ns.command](ns, env), getattr(ns, "color", "never"))


def run(argv: Sequence[str], *, environ: Mapping[str, str] | None = None) -> ExitCode:
    """Parse ``argv`` and run the command; raises RegplanError."""
    env = os.environ if environ is None else environ
    parsed = parse(argv, environ=env)
    color = color_enabled(parsed.color, isatty=sys.stdout.isatty(), environ=env)
    rep = cmd.Reporter(out=sys.stdout.write, err=sys.stderr.write, color=color)
    if isinstance(parsed.options, cmd.FleetOptions):
        return _run_fleet(parsed.options, rep, env)
    return _RUN[parsed.command](parsed.options, rep, env)


def _no_snapshot_with_cluster(ns: argparse.Namespace) -> None:
    if ns.snapshot is not None and (ns.kubeconfig or ns.context):
        raise UsageError(
            f"{ns.command}: --snapshot reads live state from a file; it cannot be combined with "
            "--kubeconfig/--context"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run, map errors to exit codes, never a traceback for expected ones."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if args[:1] == ["__complete"]:
            from regplan import completion

            sys.stdout.write("".join(f"{c}\n" for c in completion.candidates(build_parser(), args[1:])))
            code: int = ExitCode.OK
        else:
            code = run(args)
        sys.stdout.flush()
    except RegplanError as err:
        _flush_quietly()
        sys.stderr.write(terminal(f"{PROG}: {err}\n"))
        code = err.exit_code
    except BrokenPipeError:
        _quiet_pipe()
        code = EXIT_PIPE
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        code = 130
    except Exception as err:  # a bug: say so, keep the traceback for REGPLAN_DEBUG
        if os.environ.get("REGPLAN_DEBUG"):
            raise
        sys.stderr.write(
            terminal(f"{PROG}: unexpected error: {type(err).__name__}: {err} (set REGPLAN_DEBUG=1)\n")
        )
        code = ExitCode.UNEXPECTED
    sys.exit(int(code))


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_pipe()


def _quiet_pipe() -> None:
    # Python flushes stdout again at exit and would report the broken pipe: point it at /dev/null first.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    main()
