"""The closed sets of values the command line offers: targets, each command's output formats, shells.

One home for them: the CLI (``cli.py``) offers them in help, checks and completion; the command bodies
(``commands.py``) check them again for callers that do not go through the CLI. A module of constants only,
so that ``regplan --help`` can show them without importing the command bodies (start-up time).
"""

from __future__ import annotations

RENDER_OUTPUTS = ("yaml", "json", "oc", "inventory")
PLAN_OUTPUTS = ("text", "json", "yaml", "markdown")  # one plan, the same formats everywhere (plan, show)
SHOW_OUTPUTS = PLAN_OUTPUTS
APPLY_OUTPUTS = ("text", "json")
STATUS_OUTPUTS = ("text", "json", "yaml")
VERIFY_OUTPUTS = ("text", "json")
TARGETS = ("ocp4", "ocp3")  # render and validate: no cluster to detect
LIVE_TARGETS = ("auto", "ocp4", "ocp3")
COLOR_WHEN = ("auto", "always", "never")
SHELLS = ("bash", "zsh", "fish")

# A workspace of clusters (docs/fleet.md): the commands that run over its clusters, and their outputs.
FLEET_COMMANDS = ("render", "golden", "plan", "apply", "status", "snapshot")
FLEET_PLAN_OUTPUTS = PLAN_OUTPUTS
FLEET_OUTPUTS: dict[str, tuple[str, ...]] = {
    "plan": FLEET_PLAN_OUTPUTS,
    "apply": APPLY_OUTPUTS,
    "status": STATUS_OUTPUTS,
    "render": ("yaml",),
    "golden": ("text",),
    "snapshot": ("text",),
}
