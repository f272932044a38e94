"""The import contracts of pyproject.toml ([tool.importlinter], run by `lint-imports` in `make lint`) cover
every module: a new module must take its place in the layers and in each "only X imports Y" contract."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
# The module allowed to import what each forbidden contract forbids to all the others.
ALLOWED = {"kubernetes": {"regplan.cluster"}, "jinja2": {"regplan.render"},
           "typer": {"regplan.cli", "regplan.completion"}}  # fmt: skip


def modules() -> set[str]:
    pkg = ROOT / "regplan"
    names = {f"regplan.{p.stem}" for p in pkg.glob("*.py") if p.stem not in ("__init__", "__main__")}
    return names | {f"regplan.{p.name}" for p in pkg.iterdir() if (p / "__init__.py").is_file()}


def test_every_module_has_a_layer() -> None:
    layers = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
    placed = {m.strip() for layer in layers for m in layer.split("|")}
    assert placed == modules()


@pytest.mark.parametrize("forbidden", sorted(ALLOWED))
def test_only_its_owner_imports(forbidden: str) -> None:
    contract = next(c for c in CONTRACTS if c["type"] == "forbidden" and forbidden in c["forbidden_modules"])
    assert set(contract["source_modules"]) == modules() - ALLOWED[forbidden]
