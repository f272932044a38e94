"""Scenario folders -> plans: the golden set ``golden/plan/<case>/plan.{txt,json}`` (project tooling,
tools/__init__.py; not shipped in the wheel).

A scenario folder under ``tests/scenarios/<case>/`` holds ``live.yaml`` (the live state, as a snapshot) and
``case.yaml`` (``profile``, ``target``, ``sets``, ``values``); its expected plan is the golden file. Secret
sources read ``FAKE_ENV``: fixed, obviously fake credentials, so golden output is reproducible and holds no
real-looking secret (the render golden set uses them too).
"""

from __future__ import annotations

from pathlib import Path

from regplan.base.errors import ExitCode, RegplanError

# Fixed, obviously fake credentials for fixtures that name env: sources (never real-looking keys).
FAKE_ENV: dict[str, str] = {
    "REGPLAN_GOLDEN_ACCESS_KEY": "GOLDEN-FAKE-ACCESS-KEY-ID",
    "REGPLAN_GOLDEN_SECRET_KEY": "golden-fake-secret-access-key",
}

SCENARIOS = Path("tests/scenarios")


def scenario_outputs(root: Path, case_dir: Path) -> dict[str, str]:
    """Plan one scenario folder (``live.yaml`` + ``case.yaml``): {"plan.txt": ..., "plan.json": ...}.

    ``case.yaml``: ``profile``, ``target`` (auto|ocp4|ocp3), ``sets`` (list of KEY=VALUE), ``values``
    (files relative to the folder). Secret sources read golden.FAKE_ENV. An error is the expected output
    too: ``plan.txt`` then holds the exit code and message.
    """
    from regplan.base import yamlio
    from regplan.engine.workflow import Live, make_plan
    from regplan.present import views

    rel = case_dir.relative_to(root).as_posix() if case_dir.is_absolute() else case_dir.as_posix()
    spec = yamlio.load_all_safe((case_dir / "case.yaml").read_text(encoding="utf-8"), f"{rel}/case.yaml")[0]
    live = Live(snapshot=case_dir / "live.yaml", kubeconfig=None, context=None, source=f"{rel}/live.yaml")
    try:
        result = make_plan(
            profile=str(spec["profile"]),
            values_files=[case_dir / f for f in spec.get("values") or []],
            sets=[str(s) for s in spec.get("sets") or []],
            profiles_dir=None,
            target=str(spec.get("target") or "auto"),
            live=live,
            environ=FAKE_ENV,
        )
    except RegplanError as err:
        return {"plan.txt": f"exit {int(err.exit_code)}\n{err}\n".replace(str(root) + "/", "")}
    code = ExitCode.INVALID if result.errors else (ExitCode.CHANGES if result.has_changes else ExitCode.OK)
    text = views.plan_text(result) + f"(regplan plan --detailed-exitcode: exit {int(code)})\n"
    return {"plan.txt": text, "plan.json": views.plan_json(result)}


def scenario_cases(root: Path) -> list[Path]:
    base = root / SCENARIOS
    return sorted(p for p in base.iterdir() if (p / "case.yaml").is_file()) if base.is_dir() else []


def scenario_plans(root: Path) -> list[tuple[str, str]]:
    """The golden set ``plan``: every scenario folder's plan text and JSON."""
    out: list[tuple[str, str]] = []
    for case_dir in scenario_cases(root):
        for name, text in scenario_outputs(root, case_dir).items():
            out.append((f"plan/{case_dir.name}/{name}", text))
    return out
