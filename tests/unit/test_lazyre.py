"""``base.lazyre.Pattern`` compiles on first use and then answers as the compiled pattern (no I/O)."""

from __future__ import annotations

import re

from regplan.base import escape, lazyre


def test_compiled_only_when_first_used_and_then_once() -> None:
    p = lazyre.Pattern(r"[a-z]+(?P<n>[0-9]*)", re.IGNORECASE)
    assert p._compiled is None
    first = p.compiled()
    assert p.compiled() is first and first.flags & re.IGNORECASE


def test_answers_as_the_compiled_pattern() -> None:
    p, r = lazyre.Pattern(r"(a)(b)?"), re.compile(r"(a)(b)?")
    for text in ["", "a", "ab", "ab\n", "xab", "aXa"]:
        assert bool(p.fullmatch(text)) == bool(r.fullmatch(text)), text
        found, expected = p.search(text), r.search(text)
        assert (found and found.span()) == (expected and expected.span()), text
        assert p.sub(r"<\1>", text) == r.sub(r"<\1>", text)
        assert p.sub(lambda m: m.group().upper(), text, 1) == r.sub(lambda m: m.group().upper(), text, 1)
        assert [m.span() for m in p.finditer(text)] == [m.span() for m in r.finditer(text)]


def test_no_match_method_full_matches_only() -> None:
    """``match`` with ``$`` lets a trailing line break through: a validator has only ``fullmatch``."""
    assert not hasattr(lazyre.Pattern("a"), "match")
    assert escape.SGR.fullmatch("\x1b[31m") and not escape.SGR.fullmatch("\x1b[31m\n")
