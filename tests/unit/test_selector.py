"""Label selectors (kubectl syntax): a table of selector x labels -> match, and a table of bad selectors."""

from __future__ import annotations

import pytest

from regplan.base.errors import ExitCode
from regplan.fleet import selector

PROD_EU = {"env": "prod", "region": "eu", "example.com/tier": "gold"}
DEV_US = {"env": "dev", "region": "us"}
BARE: dict[str, str] = {}

# (selector, labels, matches?)
CASES = [
    ("", PROD_EU, True),
    ("", BARE, True),
    ("env=prod", PROD_EU, True),
    ("env==prod", PROD_EU, True),
    ("env=prod", DEV_US, False),
    ("env=prod", BARE, False),
    ("env!=prod", PROD_EU, False),
    ("env!=prod", DEV_US, True),
    ("env!=prod", BARE, True),  # kubectl: != also matches clusters without the label
    ("env=prod,region!=eu", PROD_EU, False),
    ("env=prod,region!=eu", {"env": "prod", "region": "us"}, True),
    ("env in (prod,stage)", PROD_EU, True),
    ("env in (prod, stage)", DEV_US, False),
    ("env in (prod,stage)", BARE, False),
    ("env notin (prod,stage)", PROD_EU, False),
    ("env notin (prod,stage)", DEV_US, True),
    ("env notin (prod,stage)", BARE, True),
    ("region", PROD_EU, True),
    ("region", BARE, False),
    ("!region", PROD_EU, False),
    ("!region", BARE, True),
    ("example.com/tier=gold", PROD_EU, True),
    ("example.com/tier=gold", DEV_US, False),
    ("env in (prod),region in (eu,us),!canary", PROD_EU, True),
    (" env = prod ", PROD_EU, True),
    ("env=", {"env": ""}, True),
    ("env=", PROD_EU, False),
]


@pytest.mark.parametrize(("text", "labels", "expected"), CASES)
def test_matches(text: str, labels: dict[str, str], expected: bool) -> None:
    assert selector.parse(text).matches(labels) is expected


# (selector, a phrase the error must contain)
BAD = [
    ("env=prod eu", "cannot read"),
    ("env in (prod", "unbalanced '('"),
    ("env in prod)", "unbalanced ')'"),
    ("env in ()", "must not be empty"),
    ("env=prod,,region=eu", "empty requirement"),
    ("env=prod,", "empty requirement"),
    ("-env=prod", "not a label key"),
    ("env=prod!", "not a label value"),
    ("env=" + "x" * 64, "not a label value"),
    ("Example.com/tier=gold", "not a label key"),
    ("env >= 3", "cannot read"),
]


@pytest.mark.parametrize(("text", "phrase"), BAD)
def test_bad_selectors_are_input_errors(text: str, phrase: str) -> None:
    with pytest.raises(selector.SelectorError) as info:
        selector.parse(text)
    assert phrase in str(info.value)
    assert info.value.exit_code is ExitCode.INVALID


def test_round_trip_text() -> None:
    parsed = selector.parse("env in (prod,stage),region!=eu,!canary,tier")
    assert [str(r) for r in parsed.requirements] == ["env in (prod,stage)", "region!=eu", "!canary", "tier"]


@pytest.mark.parametrize(
    "text",
    [
        "env=pr\nod",
        "env=prod\nregion=eu",
        "env=\x1bprod",
        "env=pr\u2028od",
        "env in (a,\nb\x1b[2J)",
        "e\x1bnv",
    ],
)
def test_line_breaks_and_control_characters_inside_a_selector_are_refused(text: str) -> None:
    with pytest.raises(selector.SelectorError) as err:
        selector.parse(text)
    assert not any(ch in str(err.value) for ch in "\n\r\u2028\x1b")  # shown escaped (repr), never raw


@pytest.mark.parametrize(
    "text",
    [
        "env in (" + ",".join(["a"] * 10_000) + ")",  # parses; matches no cluster
        "!" * 10_000 + "env",
        "env in " + "(" * 3_000 + "a" + ")" * 3_000,
        "env=" + "x" * 10_000,
    ],
)
def test_a_huge_selector_is_quoted_cut_short(text: str) -> None:
    """A message quotes at most selector.SHOWN characters of a selector (the outside check of issue 16
    found 10,000-character selectors repeated whole, twice, in one line)."""
    from pathlib import Path

    from regplan.base.errors import InvalidInput
    from regplan.fleet import workspace as wsmod

    ws = wsmod.load(Path(__file__).resolve().parents[2] / "examples" / "fleet" / "regplan.yaml")
    with pytest.raises(InvalidInput) as err:
        ws.select([], text)
    assert len(str(err.value)) < 400, str(err.value)[:120]
