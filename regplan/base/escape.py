"""One escaping or refusal rule per generated format: terminal text, shell, INI (Ansible), markdown, HTML.

Every generator calls these and nothing else to put a value it does not control (a cluster's Event
message, an object name from a plan file, a ``--set`` value, an error text) into what it writes:

- **a quoted value in a message** (``quoted``; ``shown`` for a value of any type): user text an error or a
  note repeats (a ``--set`` value, a quantity, a plan file's profile, an environment variable) is one line
  between single quotes, with the terminal rule below applied and line breaks and tabs escaped too, at most
  ``QUOTE_LIMIT`` characters shown and then ``...``. It never redacts: a caller whose text may hold a
  secret value redacts it first (``normalize.redact_text``, ``normalize.quoted_redacted``).
- **terminal** (``terminal``): every character that a terminal or a log viewer acts on instead of showing
  (C0 controls but newline and tab, DEL, C1 controls, the Unicode line/paragraph separators, bidi
  overrides and other invisible format characters, lone surrogates) becomes its visible ``\\uXXXX``
  escape. That form is also a JSON string escape, so a JSON document that passes through stays valid and
  means the same. The CLI's ``Reporter`` applies it to everything it prints (``commands.Reporter``), so
  no view has to remember; ``keep_sgr`` spares the colour codes regplan itself emits.
- **shell** (``shell_word``): a value becomes one shell word that reads the same on screen: ``shlex.quote``
  when it is plain printable text, else a bash ``$'...'`` word with every other byte as ``\\xHH``
  (locale-independent). NUL cannot be in a shell word: refused. ``shell_name`` refuses anything but a
  valid variable name (it is spliced into ``${...}``). ``comment`` makes one line of comment text.
- **INI / Ansible inventory** (``ini_value``): a value is one line or it is refused (a line break would add
  a section or a second key); Jinja2 markers (``{{``, ``{%``, ``{#``) are refused because Ansible templates
  inventory values on the control host; a string Ansible's parser (``ast.literal_eval``) would turn into
  something else, or whose blanks it would strip, is written as a quoted literal that reads back exactly.
- **markdown** (``md_text``, ``md_code``, ``md_fence``): inline text has markdown and HTML syntax
  backslash-escaped and line breaks folded, and what GitHub and GitLab would turn into a notification or a
  cross-reference (``@user``, ``@org/team``, ``#123``, ``!123``) broken by a zero-width space entity
  (``REF_BREAK``; a backslash does not stop either: they look for references after markdown is rendered);
  code spans and fenced blocks use a backtick run longer than
  any inside the text, so nothing in it can close them (and ``</details>`` inside a fence is text).
- **HTML** (``html_text``): for the ``<summary>`` of a folded section (an HTML block, where markdown
  escapes do not apply).
- **YAML**: never spliced. Every YAML document is dumped by ``yamlio`` (ruamel quotes what needs it). The one
  value that enters YAML at run time, an S3 key in the 3.x script's ``config.yml``, is written between
  double quotes with backslash and double quote escaped by the script itself (``output.YAML_KEY_FN``),
  after the script checked it is one line of printable text.

Pure functions of strings; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from regplan.base import lazyre
from regplan.base.errors import InvalidInput

# Characters a terminal (or a CI log viewer) acts on instead of showing, or that change how the text
# around them is shown: C0 (but \n, \t), DEL, C1 (ESC's 8-bit twin CSI is \x9b), soft hyphen, Arabic letter
# mark, Mongolian vowel separator, zero-width and bidi marks/overrides/isolates (U+200B-U+200F,
# U+202A-U+202E, U+2066-U+2069), word joiner and invisible operators, the line and paragraph separators,
# BOM, interlinear annotations, lone surrogates (surrogateescape'd bytes) and the invisible tag block.
_UNSAFE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
    "\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
)
UNSAFE = lazyre.Pattern(f"[{_UNSAFE}]")
UNSAFE_OR_BREAK = lazyre.Pattern(f"[{_UNSAFE}\n\t]")
# The colour codes regplan's views emit (views.COLORS and the reset): the only escapes kept.
SGR = lazyre.Pattern(r"\x1b\[(?:0|1|2|31|32|33|35)m")


def _printable(text: str) -> bool:
    """True when ``text`` holds no character of ``UNSAFE``, nor a line break or tab (``UNSAFE_OR_BREAK``),
    proved without compiling either: each of them is a character ``str.isprintable`` refuses (categories
    Cc, Cf, Cs, Cn, Zl, Zp; ``tests/unit/test_escape.py`` checks every code point). False says nothing:
    the pattern decides (a no-break space is not printable yet safe)."""
    return text.isprintable()


def _u(ch: str) -> str:
    """``ch`` as JSON-style ``\\uXXXX`` escapes (a surrogate pair above U+FFFF)."""
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escape_match(m: re.Match[str]) -> str:
    return _u(m.group())


def terminal(text: str, *, keep_sgr: bool = False) -> str:
    """``text`` safe to print: every character in ``UNSAFE`` as its visible ``\\uXXXX`` escape.

    Newlines and tabs stay. With ``keep_sgr``, regplan's own colour codes (``SGR``) are kept as they are;
    any other escape sequence is shown, not sent."""
    if _printable(text.replace("\n", "").replace("\t", "")) or not UNSAFE.search(text):
        return text
    if not keep_sgr:
        return UNSAFE.sub(_escape_match, text)
    out: list[str] = []
    pos = 0
    for m in SGR.finditer(text):
        out.append(UNSAFE.sub(_escape_match, text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(UNSAFE.sub(_escape_match, text[pos:]))
    return "".join(out)


def lines(items: Iterable[str]) -> str:
    """Text of one item per line, as the text views build it (a list of lines): a line break inside an
    item can only come from data (an object's name in a snapshot, a field of the Config), so it is shown
    as ``\\u000a`` and never prints a line of its own; the other breaks a terminal honours (``\\r``, U+2028,
    ...) are ``terminal``'s. Ends with a newline."""
    return "\n".join(item.replace("\n", "\\u000a") for item in items) + "\n"


def one_line(text: str) -> str:
    """``text`` as one safe line: ``terminal`` plus newline and tab escaped."""
    if _printable(text):
        return text
    return UNSAFE_OR_BREAK.sub(_escape_match, text)


QUOTE_LIMIT = 80  # characters of a quoted value a message shows (escapes count as what they show)


def quoted(text: str, *, limit: int = QUOTE_LIMIT) -> str:
    """``text`` quoted in a one-line message: ``'...'``, control, bidi and invisible characters, line
    breaks and tabs as visible ``\\uXXXX`` escapes (``one_line``), at most ``limit`` characters shown (a
    5,000-digit number or a pasted file is not worth printing), then ``...`` when cut. Not redacted: text
    that may hold a secret value is redacted by the caller first."""
    body, cut = _bounded(text, limit)
    return f"'{body}'" + ("..." if cut else "")


def shown(value: object, *, limit: int = QUOTE_LIMIT) -> str:
    """A value from a user's file as a message shows it: a string ``quoted``, anything else (a number, a
    list) as Python writes it, by the same rule (one line, bounded), unquoted: ``2`` is not ``'2'``."""
    if isinstance(value, str):
        return quoted(value, limit=limit)
    body, cut = _bounded(repr(value), limit)
    return body + ("..." if cut else "")


def _bounded(text: str, limit: int) -> tuple[str, bool]:
    """``one_line(text)`` cut to at most ``limit`` characters at a whole escape, and whether it was cut."""
    if len(text) <= limit and (_printable(text) or not UNSAFE_OR_BREAK.search(text)):
        return text, False
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _u(ch) if UNSAFE_OR_BREAK.fullmatch(ch) else ch
        if size + len(piece) > limit:
            return "".join(out), True
        out.append(piece)
        size += len(piece)
    return "".join(out), False


def safe_text_problem(text: str) -> str:
    """Why ``text`` cannot go into a one-line generated value as it is (a phrase, never the text), or ""."""
    if _printable(text):
        return ""
    found = UNSAFE_OR_BREAK.search(text)
    if found is None:
        return ""
    what = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x1b": "an escape character"}
    return "contains " + what.get(
        found.group(), f"the invisible or control character U+{ord(found.group()):04X}"
    )


# --- shell ----------------------------------------------------------------------------------------------

# Not plain in a shell word: a C0 control, DEL or a C1 control (everything else is printable ASCII or from
# U+00A0 up). Written as the complement: the class up to U+10FFFF took 2 ms to compile on every start.
_SHELL_NOT_PLAIN = lazyre.Pattern(r"[\x00-\x1f\x7f-\x9f]")
_NAME = lazyre.Pattern(r"[A-Za-z_][A-Za-z0-9_]*")


def shell_word(value: str) -> str:
    """``value`` as one shell word that expands to exactly ``value`` and shows as one printable line."""
    if "\x00" in value:
        raise InvalidInput("a value holding a NUL character cannot be passed to a shell command")
    if not _SHELL_NOT_PLAIN.search(value) and not UNSAFE.search(value):
        import shlex  # the printing path imports this module: keep its start-up cost at the floor

        return shlex.quote(value)
    out = []
    for byte in value.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        out.append(ch if 0x20 <= byte < 0x7F and ch not in "'\\" else f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def shell_words(values: Sequence[str]) -> str:
    return " ".join(shell_word(v) for v in values)


def shell_name(name: str, *, what: str) -> str:
    """``name`` when it is a valid shell variable name (it is spliced into ``${...}``); else InvalidInput."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"{what}: {quoted(name)} is not a valid environment variable name")
    return name


def comment(text: str) -> str:
    """One line of comment text (shell or INI): line breaks and control characters shown escaped."""
    return one_line(text)


# --- INI: the openshift-ansible inventory ---------------------------------------------------------------

_INI_PLAIN = lazyre.Pattern(r"[A-Za-z0-9_./:@+-]+")
# Digits alone are a number to Ansible even when this Python's literal_eval refuses them (3.11's limit on
# int digits): always quoted.
_INI_NUMBER = lazyre.Pattern(r"[+-]?[0-9][0-9_]*")
_JINJA = ("{{", "{%", "{#")


def _ini_string_problem(value: str) -> str:
    problem = safe_text_problem(value)
    if problem:
        return problem
    marker = next((m for m in _JINJA if m in value), None)
    if marker:
        return f"contains {marker!r}: Ansible would run it as a template on the control host"
    return ""


def _py_str(value: str) -> str:
    """A Python string literal (what Ansible's ``ast.literal_eval`` reads back as ``value``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ini_value(value: object, *, key: str) -> str:
    """``value`` as the right-hand side of ``key=`` in an Ansible INI inventory, reading back exactly.

    Strings, bools, ints, lists of strings and maps of strings. A string with a line break or a control
    character (it would add a section or a key), or with a Jinja2 marker, is refused (InvalidInput naming
    ``key``). A string Ansible would read as something else (``True``, ``12``, ``[x]``, ``' x'``) is quoted.
    """
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        problem = _ini_string_problem(value)
        if problem:
            raise InvalidInput(f"inventory value of {key} {problem}: refused")
        if _INI_PLAIN.fullmatch(value) and not _INI_NUMBER.fullmatch(value) and _reads_back(value) == value:
            return value
        return _py_str(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_py_str(_item(v, key)) for v in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_py_str(_item(k, key))}: {_py_str(_item(v, key))}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise InvalidInput(f"inventory value of {key}: {type(value).__name__} cannot be written")


def _item(value: object, key: str) -> str:
    text = str(value)
    problem = _ini_string_problem(text)
    if problem:
        raise InvalidInput(f"inventory value of {key} {problem}: refused")
    return text


def _reads_back(text: str) -> object:
    """What Ansible's INI parser makes of a value (``_parse_value``: ``ast.literal_eval`` or the text)."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


# --- markdown and HTML ----------------------------------------------------------------------------------

# Backslash-escaped in inline text: what starts emphasis, code, links and images, HTML and entities,
# tables, strikethrough, headings and block quotes (CommonMark: any ASCII punctuation may be escaped).
_MD_SPECIAL = lazyre.Pattern(r"([\\`*_\[\]<>&|!~#])")
_BACKTICKS = lazyre.Pattern(r"`+")
# What GitHub and GitLab turn into a mention (a notification to a user or a whole team: ``@alice``,
# ``@org/team``) or a cross-reference (a note on another issue, merge request or epic: ``#123``,
# ``org/repo#123``, GitLab's ``!123`` and ``&123``): they look for these in the rendered text, after
# markdown, so a backslash escape does not stop them (github/markup#1168, github/cmark-gfm#181). A
# zero-width space right after the marker does (the name or number no longer follows it); written as an
# HTML entity, which both render as the character, so the markdown stays ASCII and the terminal rule has
# nothing to show escaped.
REF_BREAK = "&#8203;"
# ``@name``, ``#12``, ``!12``, GitLab's epic ``&12`` (but not the ``#`` of an entity html_text wrote)
_REF_START = lazyre.Pattern(r"(?<!&)[@#!](?=[A-Za-z0-9_])|&(?:amp;)?(?=[0-9])")  # &amp;: html_text's &


def _break_refs(text: str) -> str:
    return _REF_START.sub(lambda m: m.group() + REF_BREAK, text)


def md_text(text: str) -> str:
    """Inline markdown text that renders as ``text`` (one line), with no markup or HTML of its own, and no
    mention or issue reference that would notify anyone (``REF_BREAK``)."""
    return _break_refs(_MD_SPECIAL.sub(r"\\\1", _fold(text)))


def _fold(text: str) -> str:
    """One safe line: line breaks of any kind become blanks, other unsafe characters escapes."""
    return one_line(" ".join(text.splitlines()))


def _longest_backticks(text: str) -> int:
    return max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)


def md_code(text: str, *, table: bool = False) -> str:
    """``text`` as an inline code span that nothing inside can close; in a table cell ``|`` is escaped."""
    body = _fold(text)
    fence = "`" * (_longest_backticks(body) + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    if table:
        body = body.replace("|", "\\|")
    return f"{fence}{body}{fence}"


def md_fence(body: str, info: str = "") -> str:
    """A fenced code block holding ``body`` (terminal-safe): its fence is longer than any backtick run in
    it, so a message quoting ```` ``` ```` or ``</details>`` stays inside."""
    safe = terminal(body)
    fence = "`" * max(3, _longest_backticks(safe) + 1)
    return f"{fence}{info}\n{safe.rstrip(chr(10))}\n{fence}"


def html_text(text: str) -> str:
    """Text for inside an HTML element (a ``<summary>``): one line, ``<>&"'`` as entities, no mention or
    issue reference (``REF_BREAK``)."""
    import html

    return _break_refs(html.escape(_fold(text), quote=True))
