"""The wheel tier's values (fixtures in conftest.py): the built artifacts, the venv they are installed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


@dataclass(frozen=True)
class Installed:
    venv: Path

    @property
    def regplan(self) -> Path:
        return self.venv / "bin" / "regplan"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"
