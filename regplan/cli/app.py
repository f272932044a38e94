"""The command line: the ONE definition of regplan's commands, options, help and completion, in typer.

Each command is a typer function below. Its only job is to map the flags onto the command's typed options
object (``commands.PlanOptions``, ``ApplyOptions``, ...): ``parse(argv)`` returns that object, ``run``
calls the command body in ``cli.commands`` with it. Help, usage errors and shell completion (bash, zsh,
fish) come from typer and the click it carries (``typer._click``).

Start-up time (docs/performance.md) shapes three choices, each kept inside this module:
- the root group builds only the invoked command (``_Root.get_command``); ``regplan --help`` lists the
  commands from their registered summaries without building any;
- help and errors are click's plain text, never rich (``rich_markup_mode=None``, no pretty exceptions);
- typer converts every option value through a pydantic ``TypeAdapter`` (~100 ms to import and build on
  each run). Our options are plain strings, paths, numbers and flags, so ``_Command`` gives each parameter
  a plain converter instead (``_Plain``); checks (choices, durations) are the callbacks below, in
  regplan's words.

It is also where printing ends: usage errors and expected errors (``RegplanError``) print one line
``regplan: ...`` on stderr and exit with their documented code (README, "Exit codes"; a usage error is 3,
not click's 2); a closed stdout (``regplan plan | head``) ends quietly with 141; anything else is a bug
(exit 1, traceback with ``REGPLAN_DEBUG=1``). What the user typed is never echoed raw: control characters
and line breaks are escaped, and the values of ``--set``/``--set-string`` are never repeated in an error.
"""

import dataclasses
import difflib
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar, Union, get_args, get_origin

import typer
from typer import _click as click  # typer >= 0.29 carries its own click (pyproject bounds the version)
from typer._click import exceptions as click_errors
from typer._coercion import RuntimeParam
from typer.core import TyperCommand, TyperGroup, TyperOption, _TyperParameter
from typer.main import get_command_from_info
from typer.models import CommandInfo

from regplan import __version__
from regplan.base import lazyre
from regplan.base.errors import ExitCode, InvalidInput, RegplanError
from regplan.cli import choices as ch

if TYPE_CHECKING:  # the command bodies and options objects: imported when a command runs, not for --help
    from regplan.cli import commands as cmd

PROG = "regplan"
WIDTH = 80
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a writer whose reader went away
COMPLETE_VAR = "_REGPLAN_COMPLETE"  # the environment variable the completion scripts set
CONTEXT: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": WIDTH,
    "terminal_width": WIDTH,
}


class UsageError(InvalidInput):
    """A command line regplan cannot run (exit 3), in one line naming the command it belongs to."""


class _OwnUsageError(click_errors.UsageError):
    """A usage error regplan found in the flags (said in its words, kept as written)."""


# --- what an error may repeat of the command line ------------------------------------------------------


def _quoted(text: str) -> str:
    """What the user typed, quoted in an error by the one rule (``escape.quoted``), a ``KEY=VALUE`` word's
    value hidden first as ``_redact`` hides it: the quote may be cut, and a cut value would no longer match
    what ``_redact`` looks for."""
    from regplan.base.escape import quoted  # imported when an error is shown

    return quoted(_hide(text) if _hidden_word(text) else text)


def _one_line(text: str) -> str:
    from regplan.base.escape import one_line  # the one terminal rule; imported when an error is shown

    return one_line(text)


def _terminal(text: str) -> str:
    from regplan.base.escape import terminal

    return terminal(text)


def _hidden_values(argv: Sequence[str]) -> list[str]:
    """The texts of ``argv`` an error must not repeat: ``--set``/``--set-string`` values (a user may put a
    secret there by mistake) and stray ``KEY=VALUE`` words, longest first."""
    hidden: list[str] = []
    for i, word in enumerate(argv):
        for flag in ("--set", "--set-string"):
            if word == flag and i + 1 < len(argv):
                hidden.append(argv[i + 1])
            elif word.startswith(flag + "="):
                hidden.append(word[len(flag) + 1 :])
        if _hidden_word(word):
            hidden.append(word)
    pieces = {p for h in hidden for p in [h, *h.split(",")] if "=" in p and p.split("=", 1)[1]}
    return sorted(pieces, key=len, reverse=True)


def _hidden_word(word: str) -> bool:
    """A stray ``KEY=VALUE`` word (not an option): its value is never repeated."""
    return "=" in word and not word.startswith("-")


def _hide(text: str) -> str:
    return text.split("=", 1)[0] + "=(hidden)"


def _redact(message: str, argv: Sequence[str]) -> str:
    for text in _hidden_values(argv):
        message = message.replace(text, _hide(text))
    return message


# --- values: durations, choices, numbers ----------------------------------------------------------------

_DURATION_PART = lazyre.Pattern(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(text: str) -> float:
    """``30s``, ``5m``, ``1m30s``, ``1.5h``, ``250ms`` or plain seconds (``300``) -> seconds (>= 0)."""
    shown = _quoted(text)
    s = text.strip()
    if s.startswith("-"):
        raise typer.BadParameter(f"{shown}: a duration cannot be negative")
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise typer.BadParameter(f"{shown}: not a duration (e.g. 300, 30s, 5m, 1m30s)")
    return total


def _duration_or_none(value: str | None) -> float | None:
    return None if value is None else duration(value)


def _positive(value: str | None) -> int | None:
    if value is None:
        return None
    shown = _quoted(value)
    try:
        n = int(value)
    except ValueError:
        raise typer.BadParameter(f"{shown}: not a whole number") from None
    if n < 1:
        raise typer.BadParameter(f"{shown}: must be at least 1")
    return n


def _one_of(choices: Sequence[str]) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"invalid choice: {_quoted(value)} (choose from {', '.join(choices)})")
        return value

    return check


def _nonempty(value: str | None) -> str | None:
    if value is not None and not value:
        raise typer.BadParameter("must not be empty")
    return value


def _one_line_path(value: str) -> str:
    """A path the user names is one line of printable text, as every string of a workspace is: regplan
    names its paths in messages ("wrote DIR/...", "plan saved to FILE; run `regplan apply FILE`"), and a
    line break there would print a line of regplan's own (a forged summary in a CI log looping over
    files of a repository). Refused (exit 3) here, for every path option and argument at once; the
    message shows the path escaped."""
    from regplan.base.escape import safe_text_problem

    problem = safe_text_problem(value)
    if problem:
        raise typer.BadParameter(f"{_quoted(value)}: a path that {problem} is refused; rename it")
    return value


def _kubeconfig_paths(value: str | None) -> str | None:
    return None if _nonempty(value) is None else _one_line_path(str(value))


def _among(choices: Sequence[str]) -> Callable[[str], list[str]]:
    return lambda incomplete: [c for c in choices if c.startswith(incomplete)]


# --- dynamic completion (the lists live in regplan.cli.completion) ---------------------------------------


def _complete_profiles(ctx: typer.Context, incomplete: str) -> list[str]:
    from regplan.cli import completion

    given = ctx.params.get("profiles_dir") or os.environ.get("REGPLAN_PROFILES_DIR")
    return [n for n in completion.profile_names(given) if n.startswith(incomplete)]


def _complete_contexts(ctx: typer.Context, incomplete: str) -> list[str]:
    from regplan.cli import completion

    return [n for n in completion.context_names(ctx.params.get("kubeconfig")) if n.startswith(incomplete)]


def _complete_clusters(ctx: typer.Context, incomplete: str) -> list[str]:
    from regplan.cli import completion

    ws = ctx.params.get("workspace")
    return [n for n in completion.cluster_names(str(ws) if ws else None) if n.startswith(incomplete)]


# --- the options, each declared once (kapp-style flag groups) -----------------------------------------------

Profile = Annotated[str | None, typer.Option(
    "-p", "--profile", metavar="NAME", callback=_nonempty, autocompletion=_complete_profiles,
    help="Profile name (see `regplan profiles`).")]  # fmt: skip
ValuesFiles = Annotated[list[Path] | None, typer.Option(
    "-f", "--values", metavar="FILE",
    help="Values file (YAML), - for standard input; repeatable or comma-separated, later files win."
)]  # fmt: skip
Sets = Annotated[list[str] | None, typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Set values after the values files, helm style: KEY=VALUE[,KEY=VALUE...] (\\, is a comma; "
    "KEY=null removes the key, KEY=\"\" is empty; {a,b} and KEY[N] are read as lists); typed by the schema. "
    "Repeatable.")]  # fmt: skip
SetStrings = Annotated[list[str] | None, typer.Option(
    "--set-string", metavar="KEY=VALUE",
    help="Like --set, but the values stay strings (a bucket named 123). Repeatable.")]  # fmt: skip
ProfilesDir = Annotated[Path | None, typer.Option(
    "--profiles-dir", metavar="DIR",
    help="Directory of user profiles (env REGPLAN_PROFILES_DIR).")]  # fmt: skip
Kubeconfig = Annotated[str | None, typer.Option(
    "--kubeconfig", metavar="FILE[:FILE...]", callback=_kubeconfig_paths,
    help="Kubeconfig file(s). Default: $KUBECONFIG, ~/.kube/config, in-cluster.")]  # fmt: skip
KubeContext = Annotated[str | None, typer.Option(
    "--context", metavar="NAME", callback=_nonempty, autocompletion=_complete_contexts,
    help="Kubeconfig context. Default: the current context.")]  # fmt: skip
RenderTarget = Annotated[str, typer.Option(
    "--target", metavar="TARGET", callback=_one_of(ch.TARGETS), autocompletion=_among(ch.TARGETS),
    help="OpenShift 4 (operator Config) or 3 (DeploymentConfig). One of: ocp4, ocp3.")]  # fmt: skip
LiveTarget = Annotated[str, typer.Option(
    "--target", metavar="TARGET", callback=_one_of(ch.LIVE_TARGETS), autocompletion=_among(ch.LIVE_TARGETS),
    help="OpenShift 4 (operator Config) or 3 (DeploymentConfig); auto detects it. "
    "One of: auto, ocp4, ocp3.")]  # fmt: skip
Snapshot = Annotated[Path | None, typer.Option(
    "--snapshot", metavar="FILE",
    help="Read live state from this file (`oc get -o yaml` output), offline.")]  # fmt: skip
Color = Annotated[str, typer.Option(
    "--color", metavar="WHEN", callback=_one_of(ch.COLOR_WHEN), autocompletion=_among(ch.COLOR_WHEN),
    help="Colour the text output; auto: on a terminal unless NO_COLOR is set or TERM=dumb. "
    "One of: auto, always, never.")]  # fmt: skip


def _output(choices: Sequence[str], what: str) -> Any:
    return typer.Option(
        "-o", "--output", metavar="FORMAT", callback=_one_of(choices), autocompletion=_among(choices),
        help=f"{what} One of: {', '.join(choices)}.",
    )  # fmt: skip


RenderOutput = Annotated[str, _output(ch.RENDER_OUTPUTS, "yaml: multi-document; json: a v1 List; oc: the "
    "equivalent oc commands; inventory: openshift-ansible inventory lines (3.x).")]  # fmt: skip
PlanOutput = Annotated[str, _output(ch.PLAN_OUTPUTS, "text for people; json/yaml: the versioned plan "
    "document; markdown: a pull-request comment.")]  # fmt: skip
ApplyOutput = Annotated[str, _output(ch.APPLY_OUTPUTS, "The report: text, or json (the plan then goes to "
    "stderr).")]  # fmt: skip
VerifyOutput = Annotated[str, _output(ch.VERIFY_OUTPUTS, "text for people; json for scripts.")]
StatusOutput = Annotated[str, _output(ch.STATUS_OUTPUTS, "text for people; json/yaml for scripts.")]

# a workspace of clusters (docs/fleet.md): the commands of ch.FLEET_COMMANDS take these
Workspace = Annotated[Path | None, typer.Option(
    "--workspace", metavar="FILE",
    help="Workspace: the workspace file. Default: regplan.yaml here or in a parent directory (the command "
    "then says on stderr which file it uses).")]  # fmt: skip
NoWorkspace = Annotated[
    bool,
    typer.Option(
        "--no-workspace", help="One cluster, even where a regplan.yaml is found (as outside a workspace)."
    ),
]
Clusters = Annotated[list[str] | None, typer.Option(
    "--cluster", metavar="NAME", autocompletion=_complete_clusters,
    help="Workspace: only this cluster; repeatable. Default: all.")]  # fmt: skip
Selector = Annotated[str, typer.Option(
    "-l", "--selector", metavar="SELECTOR", help="Workspace: only clusters whose labels match, e.g. "
    "env=prod,region!=eu (kubectl syntax: =, ==, !=, in, notin, key, !key). Default: all.")]  # fmt: skip
Parallelism = Annotated[str | None, typer.Option(
    "--parallelism", metavar="N", callback=_positive,
    help="Workspace: clusters worked on at once. Default: 32; apply's writes: 8.")]  # fmt: skip
SnapshotDir = Annotated[Path | None, typer.Option(
    "--snapshot-dir", metavar="DIR",
    help="Workspace, offline: each cluster against DIR/<cluster>.yaml (`regplan snapshot`).")]  # fmt: skip


def _examples(*lines: str) -> str:
    # "\b": click keeps the paragraph as written (no re-wrapping)
    return "\b\nexamples:\n" + "\n".join(f"  {line}" for line in lines)


class Parsed(NamedTuple):
    """A parsed command line: the command, its typed options object, and ``--color`` (if it has one).
    ``options`` is None when there is nothing to run (``--help``, ``--version`` printed already)."""

    command: str
    options: Any
    color: str = "never"


# --- the typer/click classes: lazy commands, plain conversion, regplan's usage errors -----------------------


class _Plain(RuntimeParam):
    """Converts an option's text to its annotated type (str, Path, int, bool, a list of them) without typer's
    pydantic adapters. (RuntimeParam is a dataclass; this adds no field, so no generated code either.)"""

    def _coerce_value(self, value: Any, param: Any, ctx: click.Context) -> Any:
        return _convert(self.annotation, value)


def _convert(annotation: Any, value: Any) -> Any:
    origin = get_origin(annotation)
    if origin is list:
        return [_convert(get_args(annotation)[0], v) for v in value]
    if origin in (Union, types.UnionType):
        return _convert(next(a for a in get_args(annotation) if a is not type(None)), value)
    if annotation is Path:
        _one_line_path(str(value))
        return value if isinstance(value, Path) else Path(value)
    if annotation is bool:
        return bool(value)
    return value


def _lean(params: Iterable[click.Parameter]) -> None:
    for p in params:
        if isinstance(p, _TyperParameter):
            p._runtime_param = _Plain(parameter_info=p.type_descriptor.parameter_info,
                                      annotation=p.type_descriptor.annotation)  # fmt: skip
        if p.param_type_name == "argument":  # its metavar says it all; typer would add "<path>"
            setattr(p, "display_type_rich", lambda ctx: None)  # noqa: B010


class _Command(TyperCommand):
    """A regplan command: plain conversion (``_Plain``); ``-p=NAME`` is ``-p NAME`` (click would give the
    profile ``=NAME``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _lean(self.params)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _short_equals(self.params, args))

    def get_help_option(self, ctx: click.Context) -> Any:
        return _lean_help(super().get_help_option(ctx))


def _lean_help(option: Any) -> Any:
    """click makes the help option on first use: a typer option too."""
    if option is not None and getattr(option, "_runtime_param", None) is None:
        _lean([option])
    return option


def _short_equals(params: Iterable[click.Parameter], args: list[str]) -> list[str]:
    """``-X=VALUE`` -> ``-X``, ``VALUE`` for the short options that take a value; values themselves and
    everything after ``--`` stay as they are."""
    takes_value = {o for p in params if isinstance(p, TyperOption) and not p.is_flag for o in p.opts}
    short = {o for o in takes_value if len(o) == 2}
    out: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            out.extend(args[i:])
            break
        if word in takes_value and i + 1 < len(args):
            out += [word, args[i + 1]]
            i += 2
            continue
        if word[:2] in short and word[2:3] == "=":
            out += [word[:2], word[3:]]
        else:
            out.append(word)
        i += 1
    return out


class _Root(TyperGroup):
    """``regplan``: builds only the command that is invoked (start-up time); help and completion list the
    commands from their registered summaries."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        _lean(self.params)
        self._built: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, info in _infos().items() if not info.hidden]

    def get_help_option(self, ctx: click.Context) -> Any:
        return _lean_help(super().get_help_option(ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        info = _infos().get(cmd_name)
        if info is None:
            return None
        if cmd_name not in self._built:
            self._built[cmd_name] = get_command_from_info(
                info, pretty_exceptions_short=True, rich_markup_mode=None
            )
        return self._built[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, _infos()[n].short_help or "") for n in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from typer._click.shell_completion import CompletionItem

        names = [n for n in self.list_commands(ctx) if n.startswith(incomplete)]
        return [CompletionItem(n) for n in names] + [
            item for item in click.Command.shell_complete(self, ctx, incomplete)
        ]

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        found = self.get_command(ctx, name)
        if found is None and not ctx.resilient_parsing:
            if name.startswith("-"):
                self.parse_args(ctx, args)  # an unknown option: its own error
            raise click_errors.UsageError(_unknown("command", name, self.list_commands(ctx)), ctx=ctx)
        return (name if found else None), found, args[1:]


def _unknown(what: str, given: str, known: Sequence[str]) -> str:
    """``no such command 'rendr'; did you mean render?`` (the closest one, when one is close)."""
    shown = _quoted(given)
    bare = given.lstrip("-")
    close = (
        difflib.get_close_matches(given, known, n=1, cutoff=0.6)
        or [k for k in known if bare and k.lstrip("-").startswith(bare)][:1]
    )
    return f"no such {what} {shown}" + (f"; did you mean {close[0]}?" if close else "")


def _infos() -> dict[str, CommandInfo]:
    return {str(info.name): info for info in _commands.registered_commands}


# --- the commands: each maps its flags onto its options object ---------------------------------------------

_commands = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


def _command(name: str, summary: str, *examples: str, hidden: bool = False) -> Callable[[Any], Any]:
    return _commands.command(
        name, help=summary, short_help=re.split(r"[.:] ", summary)[0].rstrip("."),
        epilog=_examples(*examples),
        cls=_Command, context_settings=CONTEXT, hidden=hidden,
    )  # fmt: skip


@_command("profiles", "List the profiles with a one-line description.", "regplan profiles")
def _profiles(ctx: typer.Context, profiles_dir: ProfilesDir = None) -> Parsed:
    return _parsed(ctx, locals())


@_command(
    "render",
    "Render a profile as manifests for `oc apply -f -` (or as oc commands). No cluster needed.",
    "regplan render -p ebs-gp2-rwo > registry.yaml",
    "regplan render -p glusterfs --target ocp3",
    "regplan render -p cephfs-rwx -f values.yaml --set replicas=3",
    "regplan render -p ebs-gp2-rwo -o oc",
    "regplan render -p ebs-gp2-rwo --out-dir deploy/",
)
def _render(
    ctx: typer.Context, profile: Profile = None, values_files: ValuesFiles = None, sets: Sets = None,
    set_strings: SetStrings = None, profiles_dir: ProfilesDir = None, target: RenderTarget = "ocp4",
    output: RenderOutput = "yaml",
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", metavar="DIR", help="Write one YAML file per object plus kustomization.yaml. regplan "
        "replaces the files it wrote there before and leaves every other file alone.")] = None,
    workspace: Workspace = None, no_workspace: NoWorkspace = False,
    clusters: Clusters = None, selector: Selector = "",
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "validate",
    "Check values against the schema and the domain rules, without a cluster.",
    "regplan validate -p ebs-gp2-rwo --set replicas=2",
    "regplan validate -p aws-s3 -f values.yaml",
)
def _validate(
    ctx: typer.Context, profile: Profile = None, values_files: ValuesFiles = None, sets: Sets = None,
    set_strings: SetStrings = None, profiles_dir: ProfilesDir = None, target: RenderTarget = "ocp4",
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "plan",
    "Show exactly what apply would change, and why. Nothing is written.",
    "regplan plan -p ebs-gp2-rwo",
    "regplan plan -p ebs-gp2-rwo -o json --detailed-exitcode",
    "regplan plan -p ebs-gp2-rwo --out plan.json && regplan apply plan.json",
    "regplan plan -p glusterfs --snapshot live.yaml",
    "regplan plan -p ebs-gp2-rwo --snapshot live.yaml -o markdown > comment.md",
)
def _plan(
    ctx: typer.Context, profile: Profile = None, values_files: ValuesFiles = None, sets: Sets = None,
    set_strings: SetStrings = None, profiles_dir: ProfilesDir = None, target: LiveTarget = "auto",
    kubeconfig: Kubeconfig = None, context: KubeContext = None, snapshot: Snapshot = None,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="PLANFILE", help="Save the plan for `regplan apply PLANFILE` (in a workspace: a "
        "directory of plans).")] = None,
    output: PlanOutput = "text",
    detailed_exitcode: Annotated[bool, typer.Option(
        "--detailed-exitcode", help="Exit 2 when there are changes, 0 when there are none.")] = False,
    color: Color = "auto", workspace: Workspace = None, no_workspace: NoWorkspace = False,
    clusters: Clusters = None, selector: Selector = "",
    parallelism: Parallelism = None, snapshot_dir: SnapshotDir = None,
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "apply",
    "Make the cluster match the profile: exactly the planned writes, nothing lost by surprise.",
    "regplan apply plan.json",
    "regplan apply plan.json --allow-replace",
    "regplan apply -p aws-s3 -f values.yaml --yes",
    "regplan apply -p ebs-gp2-rwo --no-wait",
)
def _apply(
    ctx: typer.Context,
    planfile: Annotated[Path | None, typer.Argument(
        metavar="PLANFILE", show_default=False,
        help="A plan saved with `regplan plan --out` (or use -p).")] = None,
    profile: Profile = None, values_files: ValuesFiles = None, sets: Sets = None,
    set_strings: SetStrings = None, profiles_dir: ProfilesDir = None, target: LiveTarget = "auto",
    kubeconfig: Kubeconfig = None, context: KubeContext = None,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask for confirmation.")] = False,
    allow_replace: Annotated[bool, typer.Option(
        "--allow-replace", help="Allow delete + create of a claim (its data is lost).")] = False,
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait", help="Wait until the claim is Bound and the registry rolled out.")] = True,
    timeout: Annotated[str | None, typer.Option(
        "--timeout", metavar="DURATION", callback=_duration_or_none,
        show_default=False, help="How long --wait waits (300, 30s, 5m). Default: 5m.")] = None,
    lock_timeout: Annotated[str | None, typer.Option(
        "--lock-timeout", metavar="DURATION", callback=_duration_or_none,
        show_default=False, help="How long to wait for another apply's lock. Default: 1m.")] = None,
    output: ApplyOutput = "text", color: Color = "auto",
    workspace: Workspace = None, no_workspace: NoWorkspace = False,
    clusters: Clusters = None, selector: Selector = "",
    parallelism: Parallelism = None,
    plan_dir: Annotated[Path | None, typer.Option(
        "--plan-dir", metavar="DIR",
        help="Workspace: apply the plans saved by `regplan plan --out DIR`.")] = None,
    max_failures: Annotated[str | None, typer.Option(
        "--max-failures", metavar="N", callback=_positive,
        help="Workspace: start no more clusters after N have failed (running ones finish). "
        "Default: no limit.")] = None,
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "verify",
    "Check that the registry really uses the storage the profile says: its workload's volume, mount and "
    "storage driver, the claim Bound, the rollout finished. Exit 0 verified, 2 not.",
    "regplan verify -p ebs-gp2-rwo",
    "regplan verify -p aws-s3 -f values.yaml -o json",
)
def _verify(
    ctx: typer.Context, profile: Profile = None, values_files: ValuesFiles = None, sets: Sets = None,
    set_strings: SetStrings = None, profiles_dir: ProfilesDir = None, target: LiveTarget = "auto",
    kubeconfig: Kubeconfig = None, context: KubeContext = None, snapshot: Snapshot = None,
    output: VerifyOutput = "text", color: Color = "auto",
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "show",
    "Show a plan saved with `regplan plan --out`: text, JSON, YAML, or markdown for a pull request.",
    "regplan show plan.json",
    "regplan show plan.json -o markdown > comment.md",
)
def _show(
    ctx: typer.Context,
    planfile: Annotated[Path, typer.Argument(
        metavar="PLANFILE", show_default=False, help="A plan saved with `regplan plan --out`.")],
    output: PlanOutput = "text", color: Color = "auto",
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "status",
    "What storage the registry uses now: backend, replicas, claim phase and events, conditions.",
    "regplan status",
    "regplan status -o json",
    "regplan status --snapshot live.yaml",
)
def _status(
    ctx: typer.Context, kubeconfig: Kubeconfig = None, context: KubeContext = None,
    target: LiveTarget = "auto", snapshot: Snapshot = None, profiles_dir: ProfilesDir = None,
    output: StatusOutput = "text", color: Color = "auto",
    workspace: Workspace = None, no_workspace: NoWorkspace = False,
    clusters: Clusters = None, selector: Selector = "",
    parallelism: Parallelism = None, snapshot_dir: SnapshotDir = None,
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "golden",
    "Check or rewrite a workspace's rendered/ tree (regplan.yaml; docs/fleet.md).",
    "regplan golden --check",
    "regplan golden --update",
)
def _golden(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option(
        "--check", help="Compare with rendered/; exit 2 and a diff if they differ.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Rewrite rendered/ (as render does).")] = False,
    workspace: Workspace = None, clusters: Clusters = None, selector: Selector = "",
) -> Parsed:  # fmt: skip
    if check == update:
        raise _OwnUsageError(
            "--check and --update: give one, not both" if check else
            "one of the arguments --check --update is required", ctx=ctx,
        )  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "completion",
    "Print a shell completion script (commands, options, choices, profile names, contexts, clusters).",
    "regplan completion bash > ~/.local/share/bash-completion/completions/regplan",
    "source <(regplan completion bash)",
    'regplan completion zsh > "${fpath[1]}/_regplan"',
    "regplan completion fish > ~/.config/fish/completions/regplan.fish",
)
def _completion(
    ctx: typer.Context,
    shell: Annotated[str, typer.Argument(
        metavar="SHELL", callback=_one_of(ch.SHELLS), autocompletion=_among(ch.SHELLS),
        show_default=False, help="bash, zsh or fish.")],
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "snapshot",
    "Record, per cluster of the workspace, the live objects plan and status read (Secret values redacted, "
    "safe to commit), for offline plans: `regplan plan --snapshot-dir DIR`.",
    "regplan snapshot",
    "regplan snapshot -l env=prod --out-dir snapshots/",
)
def _snapshot(
    ctx: typer.Context,
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", metavar="DIR", help="Where to write. Default: snapshotDir.")] = None,
    kubeconfig: Kubeconfig = None, context: KubeContext = None, profiles_dir: ProfilesDir = None,
    workspace: Workspace = None, clusters: Clusters = None, selector: Selector = "",
    parallelism: Parallelism = None,
) -> Parsed:  # fmt: skip
    return _parsed(ctx, locals())


@_command(
    "argocd-generate",
    "The Argo CD Config Management Plugin's generate command: one workspace cluster's manifests (parameter "
    "`cluster` or env ARGOCD_ENV_REGPLAN_CLUSTER), no secret values.",
    "regplan argocd-generate   # cwd: the app's path (deploy/argocd/plugin.yaml)",
)
def _argocd_generate(ctx: typer.Context) -> Parsed:
    return _parsed(ctx, locals())


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise typer.Exit()


_root_app = typer.Typer(
    name=PROG, cls=_Root, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
    context_settings=CONTEXT, subcommand_metavar="COMMAND [ARGS]...",
    help="Plan and apply OpenShift image-registry storage changes declaratively.",
    epilog=_examples(
        "regplan profiles", "regplan plan -p ebs-gp2-rwo", "regplan apply -p ebs-gp2-rwo",
        "regplan render -p glusterfs --target ocp3 > out.yaml",
    ) + "\n\n\b\nexit codes: 0 ok; 2 changes (--detailed-exitcode) or golden differs;\n"
    "3 invalid input; 4 cluster or API error; 5 stale plan, conflict or lock held;\n"
    "6 replace refused; 1 a bug (REGPLAN_DEBUG=1 shows the traceback).",
)  # fmt: skip


@_root_app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="Print the version and exit.")] = False,
) -> None:  # fmt: skip
    """Plan and apply OpenShift image-registry storage changes declaratively."""


_ROOT: list[click.Command] = []


def root_command() -> click.Command:
    """The click command of the whole CLI (built once; its sub-commands on first use)."""
    if not _ROOT:
        _ROOT.append(typer.main.get_command(_root_app))
    return _ROOT[0]


# --- flags -> options objects -------------------------------------------------------------------------------

_LISTS = ("values_files", "sets", "set_strings", "clusters")


def _parsed(ctx: typer.Context, flags: dict[str, Any]) -> Parsed:
    """The command's flags (its function's locals) -> ``Parsed``: the single-cluster options object, or the
    workspace options (``FleetOptions``)."""
    name = str(ctx.info_name)
    values = {k: ([] if v is None and k in _LISTS else v) for k, v in flags.items() if k != "ctx"}
    ns = SimpleNamespace(command=name, **values)
    env: Mapping[str, str] = (ctx.obj or {}).get("environ", os.environ)
    try:
        fleet = _fleet_options(ns, env)  # None: a single-cluster command line, as outside a workspace
        options = fleet if fleet is not None else _options_of(name, ns, env)
    except UsageError as err:
        raise _OwnUsageError(str(err).removeprefix(f"{name}: "), ctx=ctx) from None
    return Parsed(name, options, getattr(ns, "color", "never"))


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


def _fleet_options(ns: Any, env: Mapping[str, str]) -> "cmd.FleetOptions | None":
    """The fleet options when the command line is about a workspace, None for a single-cluster one.

    The ONE step that decides the mode (docs/fleet.md, "One cluster or a workspace"):
    single-cluster: -p, a PLANFILE, --snapshot, --context or --no-workspace given;
    workspace: --workspace/--cluster/-l/... given, or none of the above and a regplan.yaml found here or
    in a parent directory - then the command says so on stderr (``found``). ``snapshot`` is always a
    workspace command; ``golden`` is a workspace command only (regplan's own golden files are project
    tooling: ``make golden``).
    """
    if ns.command not in ch.FLEET_COMMANDS:
        return None
    from regplan.cli import commands as cmd

    single = [flag for dest, flag in _SINGLE_FLAGS if getattr(ns, dest, None)]
    chosen = [flag for dest, flag in _SELECTION_FLAGS if getattr(ns, dest, None) not in (None, "", [], False)]
    if single and chosen:
        raise UsageError(
            f"{ns.command}: {single[0]} is for one cluster; it cannot be combined with {chosen[0]} "
            f"(in a workspace each cluster has its own)"
        )
    if single:
        return None  # a render/plan without -p is refused by _values, as outside a workspace
    found = None
    if ns.command != "snapshot" and not chosen:
        from regplan.fleet import workspace

        found = workspace.find(Path.cwd())
        if found is None:
            if ns.command == "golden":
                raise UsageError(
                    "golden: no regplan.yaml here or in a parent directory: `regplan golden` checks a "
                    "workspace's rendered/ tree (docs/fleet.md); --workspace FILE names one"
                )
            if ns.command in ("render", "plan"):
                raise UsageError(
                    f"{ns.command}: the following arguments are required: -p/--profile (or a workspace, "
                    "regplan.yaml)"
                )
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
        ch.FLEET_OUTPUTS[ns.command][0],
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


def _values(ns: Any, environ: Mapping[str, str]) -> "cmd.ValueOptions":
    from regplan.cli import commands as cmd

    if ns.profile is None:
        raise UsageError(f"{ns.command}: the following arguments are required: -p/--profile")
    return cmd.ValueOptions(
        profile=ns.profile,
        values_files=tuple(ns.values_files),
        sets=tuple(ns.sets),
        set_strings=tuple(ns.set_strings),
        profiles_dir=_dir(ns, environ),
    )


def _dir(ns: Any, environ: Mapping[str, str]) -> Path | None:
    if ns.profiles_dir is not None:
        return Path(ns.profiles_dir)
    env = environ.get("REGPLAN_PROFILES_DIR")
    if env:
        from regplan.base.escape import safe_text_problem

        if safe_text_problem(env):
            why = safe_text_problem(env)
            raise InvalidInput(f"REGPLAN_PROFILES_DIR: {_quoted(env)}: a path that {why} is refused")
    return Path(env) if env else None


def _cluster(ns: Any) -> "cmd.ClusterOptions":
    from regplan.cli import commands as cmd

    return cmd.ClusterOptions(kubeconfig=ns.kubeconfig, context=ns.context)


def color_enabled(when: str, *, isatty: bool, environ: Mapping[str, str]) -> bool:
    """``--color``: always / never, or auto = a terminal, NO_COLOR unset or empty (no-color.org), and a
    terminal that has colours (``TERM=dumb`` has none)."""
    if when == "always":
        return True
    if when == "never":
        return False
    return isatty and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def confirm(question: str) -> bool:
    """Ask on stderr, read the answer from stdin: only ``y``/``yes`` confirms."""
    sys.stderr.write(_terminal(f"{question} [y/N]: "))
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


T = TypeVar("T")


def _options(cls: type[T], ns: Any, **given: Any) -> T:
    """The options object ``cls`` from the flags: each field from the flag of the same name, except those
    ``given`` (the nested groups: values, cluster). A flag not given (None) leaves the field's default: each
    default has one home, the options class (``--timeout``'s is ``ApplyOptions.timeout``)."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    flags = {n: getattr(ns, n) for n in names if n not in given and getattr(ns, n, None) is not None}
    return cls(**flags, **given)


def _apply_options(ns: Any, env: Mapping[str, str]) -> "cmd.ApplyOptions":
    from regplan.cli import commands as cmd

    if (ns.planfile is None) == (ns.profile is None):
        raise UsageError("apply: give either a PLANFILE or -p PROFILE")
    if ns.planfile is not None and (ns.values_files or ns.sets or ns.set_strings):
        raise UsageError("apply: -f/--set go with -p PROFILE; a PLANFILE carries its own values")
    values = _values(ns, env) if ns.profile else None
    return _options(cmd.ApplyOptions, ns, values=values, cluster=_cluster(ns))


def _live_options(cls: type[T], ns: Any, **given: Any) -> T:
    if ns.snapshot is not None and (ns.kubeconfig or ns.context):
        raise UsageError(
            f"{ns.command}: --snapshot reads live state from a file; it cannot be combined with "
            "--kubeconfig/--context"
        )
    return _options(cls, ns, cluster=_cluster(ns), **given)


def _options_of(command: str, ns: Any, env: Mapping[str, str]) -> Any:
    """The command's flags -> its typed options object (the one place the two meet)."""
    from regplan.cli import commands as cmd

    table: dict[str, Callable[[Any, Mapping[str, str]], Any]] = {
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
    return table[command](ns, env)


def _run_body(command: str, options: Any, rep: "cmd.Reporter", env: Mapping[str, str]) -> ExitCode:
    """Run the command's body with its options object, a Reporter and the environment."""
    from regplan.cli import commands as cmd

    if isinstance(options, cmd.FleetOptions):  # a workspace command line (`snapshot` always is)
        return cmd.fleet(options, reporter=rep, confirm=confirm, environ=env)
    table: dict[str, Callable[[Any, cmd.Reporter, Mapping[str, str]], ExitCode]] = {
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
    }
    return table[command](options, rep, env)


# --- parse, run, main ---------------------------------------------------------------------------------------


def parse(argv: Sequence[str], *, environ: Mapping[str, str] | None = None) -> Parsed:
    """``argv`` (without the program name) -> ``Parsed``; raises UsageError (exit 3). ``--help`` and
    ``--version`` print and return ``Parsed`` with no options."""
    env = os.environ if environ is None else environ
    args = list(argv)
    try:
        result = root_command().main(args=args, prog_name=PROG, standalone_mode=False, obj={"environ": env})
    except click_errors.UsageError as err:
        raise _usage_error(err, args) from None
    except click_errors.ClickException as err:  # e.g. a file click could not open: still the user's input
        raise UsageError(_one_line(_redact(err.format_message(), args))) from None
    except typer.Abort:
        raise KeyboardInterrupt from None
    except SystemExit:  # click ends a closed stdout while printing help (EPIPE) with exit 1: ours is 141
        raise BrokenPipeError from None
    if isinstance(result, Parsed):
        return result
    if result == 130:  # click turns Ctrl-C while parsing into Exit(130)
        raise KeyboardInterrupt
    return Parsed("", None)  # --help / --version: printed


def _usage_error(err: click_errors.UsageError, argv: Sequence[str]) -> UsageError:
    """click's usage error -> one line: ``COMMAND: what is wrong (see `regplan COMMAND --help`)``."""
    ctx = err.ctx
    path = ctx.command_path if ctx is not None else PROG
    if path == PROG:  # the parser of a command raises some errors without its context
        path = next((f"{PROG} {w}" for w in argv if w in _infos()), PROG)
    sub = path.removeprefix(PROG).strip()
    if isinstance(err, click_errors.NoSuchOption):
        known = [o for p in (ctx.command.params if ctx else []) for o in [*p.opts, *p.secondary_opts]]
        known += CONTEXT["help_option_names"]
        message = _unknown("option", err.option_name, [o for o in known if o.startswith("-")])
    elif isinstance(err, click_errors.MissingParameter) and err.param is not None:
        message = f"missing {err.param.param_type_name} {_names(err.param)}"
    elif isinstance(err, click_errors.BadParameter) and err.param is not None:
        message = f"{_names(err.param)}: {err.message}"
    elif isinstance(err, _OwnUsageError):
        message = err.message
    elif err.message == "Missing command.":
        message = "a command is required, one of: " + ", ".join(_root_names())
    else:
        message = err.message[:1].lower() + err.message[1:].rstrip(".")
    message = _one_line(_redact(message, argv))
    return UsageError(f"{sub + ': ' if sub else ''}{message} (see `{path} --help`)")


def _names(param: click.Parameter) -> str:
    return "/".join(param.opts) if param.param_type_name == "option" else str(param.metavar)


def _root_names() -> list[str]:
    return [n for n, info in _infos().items() if not info.hidden]


def run(argv: Sequence[str], *, environ: Mapping[str, str] | None = None) -> ExitCode:
    """Parse ``argv`` and run the command; raises RegplanError."""
    env = os.environ if environ is None else environ
    parsed = parse(argv, environ=env)
    if parsed.options is None:
        return ExitCode.OK
    color = color_enabled(parsed.color, isatty=sys.stdout.isatty(), environ=env)
    from regplan.cli.commands import Reporter

    rep = Reporter(out=sys.stdout.write, err=sys.stderr.write, color=color)
    return _run_body(parsed.command, parsed.options, rep, env)


def complete(argv: Sequence[str]) -> list[str]:
    """What the shell may offer next: ``argv`` = [current word, words before it...] (the words after the
    program name). The completion scripts ask through typer's protocol; this is the same answer in-process
    (and ``regplan __complete``, which completion scripts of earlier versions call)."""
    from regplan.cli import completion

    current, words = (argv[0], list(argv[1:])) if argv else ("", [])
    return completion.candidates(root_command(), words, current)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run, map errors to exit codes, never a traceback for expected ones."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if os.environ.get(COMPLETE_VAR):
            from regplan.cli import completion

            code: int = completion.answer(root_command(), PROG, COMPLETE_VAR)
        elif args[:1] == ["__complete"]:
            sys.stdout.write("".join(f"{c}\n" for c in complete(args[1:])))
            code = ExitCode.OK
        else:
            code = run(args)
        sys.stdout.flush()
    except RegplanError as err:
        _flush_quietly()
        sys.stderr.write(_terminal(f"{PROG}: {err}\n"))
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
            _terminal(f"{PROG}: unexpected error: {type(err).__name__}: {err} (set REGPLAN_DEBUG=1)\n")
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
