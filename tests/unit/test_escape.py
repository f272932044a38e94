"""Regplan.escape: one rule per generated format, checked against what reads each format back.

Terminal text against JSON (the escapes must keep a JSON document valid and equal); shell words against
bash itself; INI values against Ansible's INI parsing rule (split at the first `=`, strip, literal_eval or
text); markdown against a CommonMark parser (markdown-it-py, the test extra). No cluster.
"""

from __future__ import annotations

import ast
import html
import json
import re
import shutil
import subprocess

import pytest
from markdown_it import MarkdownIt

from regplan.base import escape, normalize
from regplan.base.errors import InvalidInput

# What a hostile cluster, plan file or value may carry: each would act on a terminal or a log viewer.
ATTACKS = {
    "ESC/CSI colour": "\x1b[31mred",
    "clear screen": "\x1b[2J\x1b[H",
    "OSC title": "\x1b]0;pwned\x07",
    "OSC 52 clipboard": "\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07",
    "C1 CSI": "\x9b2J",
    "C1 NEL": "a\x85b",
    "bidi override": "admin\u202etxt.exe",
    "bidi isolate": "\u2066x\u2069",
    "line separator": "a\u2028b",
    "paragraph separator": "a\u2029b",
    "carriage return": "safe\rEVIL",
    "backspace": "abc\x08\x08\x08xyz",
    "DEL": "a\x7fb",
    "zero width": "a\u200bb",
    "BOM": "\ufeffx",
    "tag characters": "x\U000e0041\U000e0042",
    "lone surrogate": "a\udcffb",
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_terminal_shows_every_control_and_format_character(text: str) -> None:
    safe = escape.terminal(text)
    assert escape.UNSAFE.search(safe) is None
    assert "\\u" in safe  # shown, not dropped: the reader sees something was there


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_terminal_keeps_json_valid_and_equal(text: str) -> None:
    doc = {"message": text, "list": [text, "plain"]}
    for ensure_ascii in (False, True):
        raw = json.dumps(doc, ensure_ascii=ensure_ascii)
        if "\udcff" in text and not ensure_ascii:
            continue  # a lone surrogate cannot be written raw as UTF-8 at all
        assert json.loads(escape.terminal(raw)) == doc


def test_terminal_keeps_newlines_tabs_and_plain_unicode() -> None:
    text = "line 1\n\tline 2: café, 東京, emoji \U0001f600\n"
    assert escape.terminal(text) == text


def test_keep_sgr_keeps_regplan_colours_only() -> None:
    ours = "\x1b[31m-/+\x1b[0m \x1b[1mname\x1b[0m \x1b[2mdim\x1b[0m"
    assert escape.terminal(ours, keep_sgr=True) == ours
    hostile = "\x1b[8mhidden\x1b[0m\x1b]0;t\x07"  # conceal and a title are not regplan's
    out = escape.terminal(hostile, keep_sgr=True)
    assert "\x1b[8m" not in out and "\x1b]" not in out and out.count("\x1b[0m") == 1
    assert "\x1b" not in escape.terminal(ours)  # colour off: every escape shown


# --- shell --------------------------------------------------------------------------------------------

SHELL_VALUES = [
    "plain",
    "",
    "with space",
    "it's",
    'a"b\\c$HOME`id`$(id)',
    "; rm -rf / #",
    "line\nbreak",
    "cr\rhere",
    "tab\there",
    "\x1b]0;title\x07",
    "bidi\u202eevil",
    "sep\u2028x",
    "café",
    "\x9bC1",
    "-n",
    "*",
    "~root",
    "!!",
]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
@pytest.mark.parametrize("value", SHELL_VALUES)
def test_shell_word_is_one_printable_word_that_bash_reads_back_exactly(value: str) -> None:
    word = escape.shell_word(value)
    assert "\n" not in word and escape.UNSAFE.search(word) is None
    script = f'set -- {word}; printf \'%s\' "$#" "$1"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, env={"LC_ALL": "C"}, check=True)
    assert out.stdout == b"1" + value.encode()


def test_shell_refuses_nul_and_bad_variable_names() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        escape.shell_word("a\x00b")
    for bad in ("A B", "X}$(id)", "1X", "", "A\n", "A-B"):
        with pytest.raises(InvalidInput, match="not a valid environment variable name"):
            escape.shell_name(bad, what="s3.accessKeyFrom")
    assert escape.shell_name("AWS_ACCESS_KEY_ID", what="x") == "AWS_ACCESS_KEY_ID"


def test_comment_is_one_line() -> None:
    assert escape.comment("a\nrm -rf /\r\u2028x") == "a\\u000arm -rf /\\u000d\\u2028x"


def test_input_words_hide_secret_looking_set_values_but_show_sources() -> None:
    words = normalize.input_words(
        ["v.yaml"],
        [
            "s3.secretKey=S3CR3T",
            "s3.accessKeyFrom=env:AK",
            "s3.keyID=arn:aws:kms:x",
            "x.password=pw",
            "token",
        ],
        ["s3.accessKey=AKIA"],
    )
    text = " ".join(words)
    for secret in ("S3CR3T", "pw", "AKIA"):
        assert secret not in text.replace("s3.accessKey", "")
    assert "s3.accessKeyFrom=env:AK" in words and "s3.keyID=arn:aws:kms:x" in words
    assert words[:2] == ["-f", "v.yaml"] and "s3.secretKey=(hidden)" in words


# --- INI (Ansible inventory) ----------------------------------------------------------------------------


def ansible_reads(line: str) -> tuple[str, object]:
    """Ansible's INI inventory rule for a `[...:vars]` line (plugins/inventory/ini.py)."""
    key, value = (e.strip() for e in line.split("=", 1))
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


INI_KEPT = ["bucket-1", "True", "12", "[x]", " padded ", "it's", 'a"b\\c', "#not a comment", ";x", "k=v",
            "{'a': 1}", "", "None", "arn:aws:kms:eu-west-1:1:key/x", "https://s3.example.com:9000/p?q=1",
            "'quoted'", "café"]  # fmt: skip


@pytest.mark.parametrize("value", INI_KEPT)
def test_ini_value_reads_back_exactly(value: str) -> None:
    line = f"openshift_hosted_registry_storage_s3_bucket={escape.ini_value(value, key='k')}"
    assert "\n" not in line
    assert ansible_reads(line) == ("openshift_hosted_registry_storage_s3_bucket", value)


@pytest.mark.parametrize(
    "value",
    ["a\n[OSEv3:children]", "a\rb", "a\u2028b", "a\u2029b", "a\x85b", "a\x1b[2Jb", "a\x00b", "a\tb",
     "{{ lookup('pipe', 'id') }}", "{% for x in y %}", "{# c #}", "x{{y"],
)  # fmt: skip
def test_ini_value_refuses_line_breaks_controls_and_templates(value: str) -> None:
    with pytest.raises(InvalidInput, match="openshift_hosted_registry_storage_s3_kmskeyid"):
        escape.ini_value(value, key="openshift_hosted_registry_storage_s3_kmskeyid")


def test_ini_collections_and_scalars() -> None:
    assert escape.ini_value(["ReadWriteOnce"], key="k") == "['ReadWriteOnce']"
    assert escape.ini_value({"A": "100"}, key="k") == "{'A': '100'}"
    assert escape.ini_value(True, key="k") == "True" and escape.ini_value(3, key="k") == "3"
    with pytest.raises(InvalidInput):
        escape.ini_value(["a\nb"], key="k")
    with pytest.raises(InvalidInput):
        escape.ini_value({"A": "{{ x }}"}, key="k")


# --- markdown -------------------------------------------------------------------------------------------

MD = MarkdownIt("commonmark").enable("table")
HOSTILE_MD = (
    "x ``` y\n```\n</details>\n<img src=https://evil.example/t.png> [a](https://evil) ![i](x) | *b* _c_ &amp;"
)


def test_md_fence_cannot_be_closed_from_inside() -> None:
    html = MD.render(
        f"<details><summary>s</summary>\n\n{escape.md_fence(HOSTILE_MD, 'text')}\n\n</details>\n"
    )
    assert html.count("</details>") == 1 and "<img" not in html and "<a " not in html
    assert "&lt;/details&gt;" in html  # shown as text inside the code block


def test_md_text_and_code_render_as_text() -> None:
    html = MD.render(
        f"| a | b |\n|---|---|\n| {escape.md_text(HOSTILE_MD)} | {escape.md_code(HOSTILE_MD, table=True)} |\n"
    )
    assert "<img" not in html and "<a " not in html and "<em>" not in html and "</details>" not in html
    assert html.count("<td>") == 2  # the `|` inside did not add a cell
    inline = MD.renderInline(escape.md_text("*b* [a](https://evil) <b>x</b>"))
    assert inline == "*b* [a](https://evil) &lt;b&gt;x&lt;/b&gt;"
    assert MD.renderInline(escape.md_code("a `` b")) == "<code>a `` b</code>"


def test_html_text_escapes() -> None:
    assert escape.html_text('<b>x</b>\n"y"') == "&lt;b&gt;x&lt;/b&gt; &quot;y&quot;"


# What GitHub and GitLab turn into a notification or a cross-reference, looked for in the rendered text
# (not in code): a mention of a user or team, an issue or merge request number.
LIVE_REF = re.compile(r"@[A-Za-z0-9_]|#[0-9]|![0-9]|&[0-9]")
MENTIONS = "ping @alice and @org/team, see #123, org/repo#45, !7 and &9; mail a@b.example; 50% #x & y"


def live_refs(rendered: str) -> list[str]:
    """The references in rendered HTML outside code spans and blocks, as a platform would see them."""
    text = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", rendered, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))  # the text nodes, entities decoded
    return LIVE_REF.findall(text)


def test_md_text_breaks_mentions_and_references_but_renders_as_the_text() -> None:
    assert live_refs(MD.render(MENTIONS)) != []  # the check sees them when nothing breaks them
    for rendered in (
        MD.renderInline(escape.md_text(MENTIONS)),
        MD.render(f"| a |\n|---|\n| {escape.md_text(MENTIONS)} |\n"),
        MD.render(f"<details><summary>{escape.html_text(MENTIONS)}</summary>\n\n</details>\n"),
    ):
        assert live_refs(rendered) == [], rendered
        shown = html.unescape(re.sub(r"<[^>]+>", "", rendered))
        assert MENTIONS in shown.replace("\u200b", "")  # the reader sees the text
    assert escape.md_text("@alice") == "@&#8203;alice"  # ASCII: nothing for the terminal rule to show
    assert escape.html_text("it's @bob") == "it&#x27;s @&#8203;bob"  # html's own entity intact


@pytest.mark.parametrize("text", [*ATTACKS.values(), "x" * 5000, "\x1b" * 5000, "plain", ""])
def test_quoted_is_one_bounded_line_with_every_control_shown(text: str) -> None:
    q = escape.quoted(text)
    assert q.startswith("'") and escape.UNSAFE_OR_BREAK.search(q) is None
    assert len(q) <= escape.QUOTE_LIMIT + len("''...")
    body = q.removesuffix("...").removeprefix("'").removesuffix("'")
    # cut at a whole escape: the shown part reads back (as JSON) to a prefix of the text
    assert text.startswith(json.loads('"' + body.replace('"', '\\"') + '"')), q
    assert q.endswith("...") == (len(text) > escape.QUOTE_LIMIT or len(body) < len(escape.one_line(text)))


def test_quoted_keeps_plain_text_and_cuts_with_an_ellipsis() -> None:
    assert escape.quoted("ebs-gp2-rwo") == "'ebs-gp2-rwo'"
    assert escape.quoted("a\nb") == "'a\\u000ab'"
    assert escape.quoted("y" * 100, limit=10) == "'" + "y" * 10 + "'..."
    assert escape.quoted("\x1b" * 3, limit=13) == "'\\u001b\\u001b'..."


def test_every_colour_the_views_emit_is_kept() -> None:
    """One home per fact would be better still; until then a new colour in views.COLORS fails here."""
    from regplan.present import views

    for code in [*views.COLORS.values(), "0"]:
        assert escape.SGR.fullmatch(f"\x1b[{code}m"), code


def test_huge_inputs_stay_linear() -> None:
    """Big values cost time in proportion, never a crash (literal_eval of a huge int, long backtick runs)."""
    import time

    start = time.perf_counter()
    assert (
        escape.ini_value("1" * 100_000, key="k") == "'" + "1" * 100_000 + "'"
    )  # Ansible would read a number
    fence = escape.md_fence("`" * 100_000, "text")
    assert fence.startswith("`" * 100_001 + "text\n")
    text = ("plain line \x1b[2J\n" * 200_000)[:3_000_000]
    assert escape.UNSAFE.search(escape.terminal(text)) is None
    assert time.perf_counter() - start < 10


def test_every_unsafe_character_is_one_isprintable_refuses() -> None:
    """``escape._printable`` skips the patterns for printable text: sound only while every character of
    ``UNSAFE_OR_BREAK`` (so of ``UNSAFE``) is one ``str.isprintable`` refuses. Checked on every code point."""
    everything = "".join(map(chr, range(0x110000)))
    found = [m.group() for m in escape.UNSAFE_OR_BREAK.finditer(everything)]
    assert len(found) > 2000 and not [ch for ch in found if ch.isprintable()]
    for text in [
        "plain",
        "tab\there",
        "a\u2028b",
        "\x1b[31m",
        "x\u00ady",
        "\ud800",
        "\U000e0041",
        "no\u00a0break",
    ]:
        assert escape.one_line(text) == escape.UNSAFE_OR_BREAK.sub(escape._escape_match, text)
        assert escape.terminal(text) == escape.UNSAFE.sub(escape._escape_match, text)
        assert escape.quoted(text) == "'" + escape.one_line(text) + "'"
