"""Regular expressions compiled on first use.

A module-level ``re.compile`` runs on every start of every command, used or not: ~0.1-0.5 ms a pattern,
~25 patterns on ``regplan render``'s path, most of them for messages, other outputs or other inputs
(docs/performance.md, "Start-up"). ``Pattern`` keeps the source and compiles it the first time it is
used, then answers as the ``re.Pattern`` it holds.

It offers what regplan's checks use: ``fullmatch`` (every validator matches the whole value), ``search``
(a forbidden character anywhere), ``sub``, ``finditer``. There is no ``match``: with ``$`` it lets a
trailing line break through (``tests/unit/test_rules.py``, ``test_no_module_validates_with_match``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator


class Pattern:
    """``re.compile(pattern, flags)``, done when first needed."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        found = self._compiled
        if found is None:
            found = self._compiled = re.compile(self.pattern, self.flags)
        return found

    def fullmatch(self, string: str) -> re.Match[str] | None:
        return self.compiled().fullmatch(string)

    def search(self, string: str) -> re.Match[str] | None:
        return self.compiled().search(string)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled().sub(repl, string, count)

    def finditer(self, string: str) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string)

    def __repr__(self) -> str:
        return f"lazyre.Pattern({self.pattern!r})"
