"""The import contracts of pyproject.toml ([tool.importlinter], run by `lint-imports` in `make lint`) cover
every module: each module lives in one of the packages the layers contract names, and each "only X imports
Y" contract forbids Y to every package (or module) but its owner."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "regplan"
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
# What each forbidden contract allows: the owner, the one place that imports it.
OWNER = {"kubernetes": "regplan.cluster", "jinja2": "regplan.core.render", "typer": "regplan.cli"}


def packages() -> set[str]:
    return {f"regplan.{p.name}" for p in PKG.iterdir() if (p / "__init__.py").is_file()}


def modules() -> set[str]:
    """Every module of regplan, dotted (packages' __init__ not counted)."""
    return {
        "regplan." + ".".join(p.relative_to(PKG).with_suffix("").parts)
        for p in PKG.rglob("*.py")
        if p.stem != "__init__" and p.parent != PKG
    }


def layered() -> set[str]:
    layers = next(c for c in CONTRACTS if c["type"] == "layers")["layers"]
    return {m.strip() for layer in layers for m in layer.split("|")}


def test_every_package_has_a_layer() -> None:
    assert layered() == packages()


def test_no_module_outside_a_package() -> None:
    """Only the package's __init__ (the version) and __main__ stand at the top; everything else is in a
    package, so the layers contract covers it."""
    assert {p.name for p in PKG.glob("*.py")} == {"__init__.py", "__main__.py"}
    assert all(any(m.startswith(p + ".") for p in packages()) for m in modules())


def covered(sources: list[str], module: str) -> bool:
    return any(module == s or module.startswith(s + ".") for s in sources)


@pytest.mark.parametrize("forbidden", sorted(OWNER))
def test_only_its_owner_imports(forbidden: str) -> None:
    contract = next(c for c in CONTRACTS if c["type"] == "forbidden" and forbidden in c["forbidden_modules"])
    sources = contract["source_modules"]
    owner = OWNER[forbidden]
    assert not covered(sources, owner)
    assert {m for m in modules() if not covered(sources, m)} == {m for m in modules() if covered([owner], m)}


def test_acyclic_within_every_package() -> None:
    contract = next(c for c in CONTRACTS if c["type"] == "acyclic_siblings")
    assert contract["ancestors"] == ["regplan"]


@pytest.mark.parametrize("package", sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()))
def test_a_package_init_imports_nothing_but_cluster(package: str) -> None:
    """Importing `regplan.base.errors` must not load the rest of `base` (start-up: `regplan --help` loads
    three modules). Only `cluster` names its public surface in its __init__, as it did as one module."""
    text = (PKG / package / "__init__.py").read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert package == "cluster" or imports == [], imports
