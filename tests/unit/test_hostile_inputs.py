"""Hostile inputs (issue 8 items 1, 4b, 4c, 5, 6; issue 10 item 4): one table per class of defect.

Each table row is an input a hostile or careless user can hand regplan. The assertions are about the
contract, not the wording: an expected error (exit 3) naming the file and, for a parsing bound, the bound;
never a value of the file in a message; nothing written when something fails. Files are written to
``tmp_path``: reading them is what is under test. Timings are measured by bench/parse_bench.py, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from regplan.base import model, safeload
from regplan.base.errors import BoundExceeded, ExitCode, InvalidInput, RegplanError, UnreadableInput
from regplan.base.model import Target
from regplan.core import render, rules, values
from regplan.engine import snapshot
from regplan.present import output
from tools import golden

ROOT = Path(__file__).resolve().parents[2]
SECRET = "SECRETVALUE42"  # a marker: any message quoting it leaks a value of the file

# --- hostile documents ---------------------------------------------------------------------------------


def laughs(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each level an anchored list of `width` aliases of the level below (~600 bytes)."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def laughs_merge(levels: int = 12) -> str:
    """The same with merge keys (`<<: [*a, *a]`): mappings instead of lists."""
    lines = ["m0: &m0 {a: 1, b: 2}"]
    for i in range(1, levels):
        lines.append(
            f"m{i}: &m{i} {{x{i}: 1, <<: [*m{i - 1}], y{i}: {{<<: *m{i - 1}}}, z{i}: [*m{i - 1}, *m{i - 1}]}}"
        )
    return "\n".join(lines) + "\n"


def deep_block(n: int) -> str:
    return "".join(" " * i + "k:\n" for i in range(n)) + " " * n + "leaf\n"


def deep_alias(anchored: int, at: int) -> str:
    """An anchored mapping `anchored` deep, aliased `at` levels down: deep only once expanded."""
    inner = "[" * anchored + "]" * anchored
    return f"a: &a {inner}\nb: " + "[" * at + "*a" + "]" * at + "\n"


def many_keys(n: int) -> str:
    return "".join(f"k{i}: {i}\n" for i in range(n))


# (id, YAML text, the bound or problem expected in the message). Every row must be refused by every reader.
YAML_CASES: list[tuple[str, str, str]] = [
    ("billion-laughs", laughs(), "nodes"),
    ("billion-laughs-wide", laughs(levels=6, width=30), "nodes"),
    ("laughs-merge-keys", laughs_merge(), "nodes"),
    ("laughs-in-a-list", "- " + laughs().replace("\n", "\n  ").rstrip() + "\n", "nodes"),
    ("deep-block-mappings", deep_block(400), "depth"),
    ("deep-block-sequences", "".join(" " * i + "-\n" for i in range(0, 800, 2)), "depth"),
    ("deep-flow-sequences", "[" * 100_000, "depth"),
    ("deep-flow-mappings", "{a: " * 5_000, "depth"),
    ("deep-only-through-an-alias", deep_alias(30, 90), "depth"),
    ("recursive-alias", "a: &a [1, *a]\n", "recursive"),
    ("recursive-alias-mapping", "a: &a {b: *a}\n", "recursive"),
    ("undefined-alias", "a: *nothing\n", "alias"),
    ("many-keys", many_keys(safeload.DEFAULT.max_nodes // 2 + 10), "nodes"),  # a key and a value each
    ("many-list-items", "[" + "0," * safeload.DEFAULT.max_nodes + "0]\n", "nodes"),
    ("duplicate-key", f"apiVersion: v1\nsecretKey: {SECRET}\nsecretKey: other\n", "duplicate key"),
    ("bad-tag-int", f"replicas: !!int {SECRET}\n", "not valid YAML"),
    ("bad-tag-timestamp", f"a: !!timestamp 2020-13-45T{SECRET}\n", "not valid YAML"),
    ("python-tag", f"a: !!python/object:os.system {SECRET}\n", "not allowed"),
    ("custom-tag", f"replicas: !Ref {SECRET}\n", "not allowed"),
    ("binary-tag", "data: {k: !!binary aGVsbG8=}\n", "not allowed"),  # bytes: no reader wants them
    ("set-tag", "a: !!set {x}\n", "not allowed"),
    ("custom-tag-on-mapping", f"s3: !Secret {{key: {SECRET}}}\n", "not allowed"),
    ("unterminated-quote", f"a: 'x\nb: {SECRET}\n", "not valid YAML"),
    ("bad-escape", f'a: "\\q{SECRET}"\n', "not valid YAML"),
    ("tab-indent", f"a:\n\tb: {SECRET}\n", "not valid YAML"),
    ("nul-byte", f"a: {SECRET}\x00\n", "not valid YAML"),
]
FAST = {"many-keys", "many-list-items"}  # large texts: not through the slow pure-Python readers


def _check_refused(err: RegplanError, source: str, expected: str) -> None:
    text = str(err)
    assert err.exit_code is ExitCode.INVALID
    assert text.startswith(source), text
    assert expected in text, text
    assert SECRET not in text, text
    if isinstance(err, BoundExceeded):
        assert f"bound: {err.bound} <= {err.limit}" in text


@pytest.mark.parametrize(("case", "text", "expected"), YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_data_yaml_loader_refuses(case: str, text: str, expected: str) -> None:
    with pytest.raises(UnreadableInput) as err:
        safeload.load_yaml_all(text, source="in.yaml")
    _check_refused(err.value, "in.yaml", expected)


# Shapes the data loader (snapshots, kubeconfigs) refuses as it builds: (id, text, expected, line).
DATA_SHAPES: list[tuple[str, str, str, int]] = [
    ("mapping-as-key", f"{{[a]: {SECRET}}}\n", "mapping key is a mapping or a list", 1),
    ("merge-of-a-scalar", f"a: 1\n<<: {SECRET}\n", "merge key", 2),
    ("merge-of-a-list-of-scalars", "a: &x [1]\nb: {<<: [*x]}\n", "merge key", 2),
    ("scalar-tagged-map", f"a: !!map {SECRET}\n", "scalar tagged as a collection", 1),
    ("sequence-tagged-str", f"a: !!str [{SECRET}]\n", "collection tagged as a scalar", 1),
    ("int-too-long", "a: " + "9" * 5000 + "\n", "a value cannot be read", 1),
]


@pytest.mark.parametrize(("case", "text", "expected", "line"), DATA_SHAPES, ids=[c[0] for c in DATA_SHAPES])
def test_data_loader_refuses_shapes(case: str, text: str, expected: str, line: int) -> None:
    with pytest.raises(UnreadableInput) as err:
        safeload.load_yaml_all(text, source="kubeconfig")
    _check_refused(err.value, f"kubeconfig:{line}:", expected)


def test_data_loader_reads_what_yaml_safe_load_reads() -> None:
    """The one-pass builder equals PyYAML's own loader on every YAML file of the repository."""
    import yaml

    texts = [
        p.read_text()
        for pattern in (
            "examples/snapshots/*.yaml",
            "tests/scenarios/*/*.yaml",
            "profiles/*.yaml",
            "golden/**/*.yaml",
        )
        for p in sorted(ROOT.glob(pattern))
    ]
    texts += [
        "a: &a {x: 1, y: 2}\nb: {<<: *a, x: 3}\nc: {<<: [*a, {x: 9, z: 1}], w: 0}\n",
        "t: 2024-01-01T10:00:00+02:00\nd: 2024-01-01\nb: yes\no: 0755\nh: 0x1F\nf: 1.5e3\nn: ~\nsx: 1:20\n",
        "i: !!str 12\nx: !!int '12'\nf: !!float 1\ne: ! 12\nz: !!null ''\n",
        "---\na: 1\n---\n---\nb: [&s x, *s]\n...\n",
    ]
    assert len(texts) > 40
    for text in texts:
        assert safeload.load_yaml_all(text, source="f") == list(yaml.load_all(text, Loader=yaml.CSafeLoader))


@pytest.mark.parametrize(("case", "text", "expected"), YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_snapshot_reader_refuses(tmp_path: Path, case: str, text: str, expected: str) -> None:
    f = tmp_path / "snap.yaml"
    f.write_text(text)
    with pytest.raises(UnreadableInput) as err:
        snapshot.read_objects(f)
    _check_refused(err.value, str(f), expected)


@pytest.mark.parametrize(("case", "text", "expected"), YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_values_file_reader_refuses(tmp_path: Path, case: str, text: str, expected: str) -> None:
    f = tmp_path / "values.yaml"
    f.write_text(text)
    with pytest.raises(UnreadableInput) as err:
        values.load_values("ebs-gp2-rwo", files=[f], sets=[], profiles_dir=None, environ={})
    # the values bounds are tighter (safeload.VALUES): a large file hits the size bound first
    big = len(text) > safeload.VALUES.max_bytes
    _check_refused(err.value, str(f), "bound: size" if big else expected)


@pytest.mark.parametrize(
    ("case", "text", "expected"), [c for c in YAML_CASES if c[0] not in FAST], ids=lambda c: str(c)[:30]
)
def test_user_profile_reader_refuses(tmp_path: Path, case: str, text: str, expected: str) -> None:
    (tmp_path / "mine.yaml").write_text(text)
    with pytest.raises(UnreadableInput) as err:
        values.load_values("mine", files=[], sets=[], profiles_dir=tmp_path, environ={})
    _check_refused(err.value, str(tmp_path / "mine.yaml"), expected)


@pytest.mark.parametrize(
    ("case", "text", "expected"), [c for c in YAML_CASES if c[0] not in FAST], ids=lambda c: str(c)[:30]
)
def test_internal_yaml_loader_refuses(case: str, text: str, expected: str) -> None:
    """yamlio.load_all_safe (rendered text, a live Secret's config.yml) has the same bounds."""
    from regplan.base import yamlio

    with pytest.raises(UnreadableInput) as err:
        yamlio.load_all_safe(text, "config.yml")
    _check_refused(err.value, "config.yml", expected)


# (id, size in bytes over the bound, reader). The file is one long comment: cheap to parse, only too big.
@pytest.mark.parametrize(
    ("reader", "limit"),
    [("values", safeload.VALUES.max_bytes), ("snapshot", safeload.DEFAULT.max_bytes)],
)
def test_file_size_bound(tmp_path: Path, reader: str, limit: int) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("#" + "x" * limit + "\n")
    with pytest.raises(BoundExceeded) as err:
        if reader == "values":
            values.load_values("ebs-gp2-rwo", files=[f], sets=[], profiles_dir=None, environ={})
        else:
            snapshot.read_objects(f)
    assert err.value.bound == "size" and err.value.limit == limit
    assert str(err.value).startswith(str(f))


# (id, how the path is made, expected in the message): files that are not files, or never end.
def _path(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nothing.yaml"
    if kind == "directory":
        return tmp_path
    if kind == "endless":
        return Path("/dev/zero")  # a device: refused before a byte is read (userfiles)
    if kind == "fifo":
        os.mkfifo(tmp_path / "f")  # no writer: an open without O_NONBLOCK would block forever
        return tmp_path / "f"
    if kind == "not-utf8":
        (tmp_path / "f").write_bytes(b"a: \xff\xfe" + SECRET.encode())
    elif kind == "bom":
        (tmp_path / "f").write_bytes(b"\xef\xbb\xbfa: 1\n")
    return tmp_path / "f"


FILE_KINDS = [
    ("missing", "No such file"),
    ("directory", "it is a directory, not a regular file"),
    ("endless", "it is a character device, not a regular file"),
    ("fifo", "it is a FIFO (named pipe), not a regular file"),
    ("not-utf8", "not UTF-8 text (byte 3)"),
    ("bom", ""),
]


@pytest.mark.parametrize(("kind", "expected"), FILE_KINDS, ids=[k[0] for k in FILE_KINDS])
@pytest.mark.parametrize("reader", ["values", "snapshot", "kubeconfig", "plan file"])
def test_unreadable_files(tmp_path: Path, reader: str, kind: str, expected: str) -> None:
    path = _path(tmp_path, kind)

    def read() -> object:
        if reader == "values":
            return values.load_values("ebs-gp2-rwo", files=[path], sets=[], profiles_dir=None, environ={})
        if reader == "snapshot":
            return snapshot.read_objects(path)
        if reader == "kubeconfig":
            return safeload.read_yaml(path, what="kubeconfig")
        return safeload.read_json(path, what="plan file")

    if not expected:  # a byte-order mark is dropped: the text is read (JSON: not JSON, still no crash)
        try:
            read()
        except InvalidInput as err:  # read, then not a snapshot / not JSON: an input error, not a crash
            assert reader in ("snapshot", "plan file"), err
        return
    with pytest.raises(UnreadableInput) as err:
        read()
    assert str(err.value).startswith(str(path)) and expected in str(err.value)
    assert SECRET not in str(err.value)


def test_within_the_bounds_is_read_as_before() -> None:
    text = "a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n"
    assert safeload.load_yaml(text, source="ok.yaml") == {
        "a": {"b": [1, 2]},
        "c": {"b": [1, 2]},
        "d": [{"b": [1, 2]}, {"b": [1, 2]}],
    }
    assert yaml_plain(safeload.load_yaml_rt(text, source="ok.yaml")) == safeload.load_yaml(text, source="x")


def yaml_plain(doc: Any) -> Any:
    from regplan.base import yamlio

    return yamlio.to_plain(doc)


def test_bounds_are_exact() -> None:
    """At the bound is read; one over is refused (nodes counted after alias expansion, depth likewise)."""
    limits = safeload.Limits(max_bytes=1000, max_depth=3, max_nodes=7)
    # depth counts the nodes on the deepest path, the scalar too: mapping, sequence, scalar = 3
    assert safeload.load_yaml("a: [1]\n", source="s", limits=limits) == {"a": [1]}
    with pytest.raises(BoundExceeded, match="depth"):
        safeload.load_yaml("a: [[1]]\n", source="s", limits=limits)
    with pytest.raises(BoundExceeded, match="depth"):  # the same depth reached through an alias
        safeload.load_yaml("a: &x [1]\nb: [*x]\n", source="s", limits=limits)
    with pytest.raises(BoundExceeded, match="size"):
        safeload.load_yaml("#" * 1000 + "\n", source="s", limits=limits)
    # {a: &x [1, 2], b: *x}: map, a, seq, 1, 2, b + the alias's 3 = 9 nodes
    with pytest.raises(BoundExceeded, match="nodes"):
        safeload.load_yaml("{a: &x [1, 2], b: *x}\n", source="s", limits=limits)
    assert safeload.load_yaml("{a: &x [1], b: *x}\n", source="s", limits=limits) == {"a": [1], "b": [1]}


# --- JSON (plan files) ------------------------------------------------------------------------------------

JSON_CASES: list[tuple[str, str, str]] = [
    ("deep-arrays", "[" * 100_000 + "]" * 100_000, "depth"),
    ("deep-arrays-unclosed", "[" * 100_000, "depth"),
    ("deep-objects", '{"a":' * 50_000 + "1" + "}" * 50_000, "depth"),
    ("just-over-depth", "[" * 101 + "]" * 101, "depth"),
    ("many-items", "[" + "0," * 300_000 + "0]", "nodes"),
    ("many-keys", "{" + ",".join(f'"k{i}":0' for i in range(150_000)) + "}", "nodes"),
    ("duplicate-key", f'{{"secretKey": "{SECRET}", "secretKey": "x"}}', "duplicate key"),
    ("nan", "[NaN]", "not valid JSON"),
    ("infinity", '{"a": -Infinity}', "not valid JSON"),
    ("unterminated-string", f'{{"a": "{SECRET}', "not valid JSON"),
    ("bad-escape", f'{{"a": "\\q{SECRET}"}}', "not valid JSON"),
    ("trailing-data", f'{{"a": 1}} {SECRET}', "not valid JSON"),
    ("control-char", f'{{"a": "{SECRET}\x01"}}', "not valid JSON"),
]


@pytest.mark.parametrize(("case", "text", "expected"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_loader_refuses(case: str, text: str, expected: str) -> None:
    with pytest.raises(UnreadableInput) as err:
        safeload.load_json(text, source="plan.json")
    _check_refused(err.value, "plan.json", expected)


def test_json_within_bounds_and_bytes() -> None:
    assert safeload.load_json(b'\xef\xbb\xbf{"a": [1, {"b": null}]}', source="p") == {"a": [1, {"b": None}]}
    with pytest.raises(UnreadableInput, match=r"p: not UTF-8 text \(byte 7\)"):
        safeload.load_json(b'{"a": "\xff"}', source="p")


# --- 4b: parser messages never echo values ------------------------------------------------------------------

# Each is malformed where a value sits; the message keeps the line (and column) and drops the value.
LEAKY_YAML: list[tuple[str, str, int]] = [
    ("duplicate-secret-key", f"s3:\n  secretKey: {SECRET}\n  secretKey: {SECRET}2\n", 3),
    ("duplicate-nested", f"a:\n  b: 1\n  b: {SECRET}\n", 3),
    ("unclosed-flow", f"a: [{SECRET}, b\n", 2),
    ("colon-in-plain", f"a: {SECRET}: x\n", 1),
    ("bad-double-quoted", f'a: "{SECRET}\\x"\n', 1),
    ("bad-indent", f"a: 1\n b: {SECRET}\n", 2),
    ("tag-on-value", f"a: !!float {SECRET}\n", 0),
    ("alias-in-flow-key", f"a: {{{SECRET}: *x}}\n", 1),
    ("document-end-garbage", f"a: 1\n... {SECRET}\n", 2),
]


@pytest.mark.parametrize(("case", "text", "line"), LEAKY_YAML, ids=[c[0] for c in LEAKY_YAML])
def test_yaml_errors_do_not_echo_values(tmp_path: Path, case: str, text: str, line: int) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(text)
    for read in (
        lambda: values.load_values("aws-s3", files=[f], sets=[], profiles_dir=None, environ={}),
        lambda: snapshot.read_objects(f),
    ):
        try:
            read()
        except UnreadableInput as err:
            message = str(err)
        else:  # a reader that accepts the text (a lenient parser) still must not get here for these rows
            pytest.fail(f"{case}: accepted")
        assert SECRET not in message
        if line:
            assert message.startswith(f"{f}:{line}:"), message
    if "duplicate" in case:
        assert "duplicate key 'secretKey'" in message or "duplicate key 'b'" in message


# Parser problem texts as ruamel.yaml and PyYAML word them: values dropped, tokens and characters kept.
PROBLEMS: list[tuple[str, str]] = [
    (f'found duplicate key "secretKey" with value "{SECRET}" (original value: "x{SECRET}")', "'secretKey'"),
    (f"could not determine a constructor for the tag '!{SECRET}'", "constructor for the tag"),
    (f"found unexpected ':' in '{SECRET}:'", "':'"),
    ("expected ',' or ']', but got '<stream end>'", "expected ',' or ']', but got '<stream end>'"),
    ("found character '\\t' that cannot start any token", "'\\t'"),
    (f'while scanning "{SECRET}"\nmore on another line {SECRET}', "while scanning"),
]


@pytest.mark.parametrize(("problem", "kept"), PROBLEMS, ids=[p[0][:25] for p in PROBLEMS])
def test_parser_problems_lose_their_values(problem: str, kept: str) -> None:
    shown = safeload.safe_problem(problem)
    assert SECRET not in shown and kept in shown


# --- 4c: S3 keys with control characters -------------------------------------------------------------------

KEY = "AKIAHOSTILE" + SECRET
# (id, how the key is given: env value or file bytes, accepted?)
S3_KEYS: list[tuple[str, str, bytes, bool]] = [
    ("env-plain", "env", KEY.encode(), True),
    ("env-newline-end", "env", (KEY + "\n").encode(), False),
    ("env-two-lines", "env", (KEY + "\nsecond").encode(), False),
    ("env-carriage-return", "env", (KEY + "\r").encode(), False),
    ("env-tab", "env", (KEY[:4] + "\t" + KEY[4:]).encode(), False),
    ("env-escape", "env", (KEY + "\x1b[0m").encode(), False),
    ("env-del", "env", (KEY + "\x7f").encode(), False),
    ("env-c1-nel", "env", (KEY + "\u0085").encode(), False),
    ("env-line-separator", "env", (KEY + "\u2028").encode(), False),
    ("env-leading-blank", "env", (" " + KEY).encode(), False),
    ("file-plain", "file", KEY.encode(), True),
    ("file-one-newline", "file", (KEY + "\n").encode(), True),
    ("file-one-crlf", "file", (KEY + "\r\n").encode(), True),
    ("file-two-newlines", "file", (KEY + "\n\n").encode(), False),
    ("file-two-lines", "file", (KEY + "\nsecond\n").encode(), False),
    ("file-cr-only", "file", (KEY + "\r").encode(), False),
    ("file-nul", "file", (KEY + "\x00\n").encode(), False),
    ("file-trailing-blank", "file", (KEY + " \n").encode(), False),
    ("file-leading-newline", "file", ("\n" + KEY).encode(), False),
]


@pytest.mark.parametrize(("case", "kind", "raw", "ok"), S3_KEYS, ids=[c[0] for c in S3_KEYS])
def test_s3_key_with_control_characters(tmp_path: Path, case: str, kind: str, raw: bytes, ok: bool) -> None:
    env = {"OTHER": "AKIAOTHERKEY"}
    if kind == "env":
        env["HOSTILE"] = raw.decode()
        source = "env:HOSTILE"
    else:
        key_file = tmp_path / "key"
        key_file.write_bytes(raw)
        source = f"file:{key_file}"
    sets = [
        "s3.bucket=hostile-bucket",
        "s3.region=us-east-1",
        "s3.accessKeyFrom=env:OTHER",
        f"s3.secretKeyFrom={source}",
    ]
    vals = values.load_values("aws-s3", files=[], sets=sets, profiles_dir=None, environ=env)
    if ok:
        assert vals.secrets["s3.secretKey"].value == KEY
        rules.validate(vals, Target.OCP4)
        return
    assert "s3.secretKey" not in vals.secrets
    with pytest.raises(InvalidInput) as err:
        rules.validate(vals, Target.OCP4)
    assert err.value.exit_code is ExitCode.INVALID
    text = str(err.value)
    assert "s3.secretKeyFrom" in text and (("HOSTILE" in text) if kind == "env" else (str(key_file) in text))
    assert SECRET not in text and "AKIA" not in text


# --- 5: bounds the API enforces, checked before any request --------------------------------------------

# (id, --set items, key expected in the error or "" when valid)
API_BOUNDS: list[tuple[str, list[str], str]] = [
    ("replicas-int32-max", ["replicas=2147483647", "claim.accessMode=ReadWriteMany"], ""),
    ("replicas-int32-max-plus-1", ["replicas=2147483648"], "replicas"),
    ("replicas-huge", ["replicas=99999999999999999999999"], "replicas"),
    ("replicas-5000-digits", ["replicas=" + "9" * 5000], "replicas"),
    ("replicas-zero", ["replicas=0"], "replicas"),
    ("replicas-negative", ["replicas=-1"], "replicas"),
    ("size-max-quantity", ["claim.size=8191Pi"], ""),
    ("size-just-below-2^63", ["claim.size=9223372036854775807"], ""),
    ("size-2^63", ["claim.size=9223372036854775808"], "claim.size"),
    ("size-8Ei", ["claim.size=8Ei"], "claim.size"),
    ("size-silently-rounded-by-k8s", ["claim.size=99999999999999999999999999999999Ei"], "claim.size"),
    ("size-huge-exponent", ["claim.size=1e999999999"], "claim.size"),
    ("size-exponent-beyond-int32", ["claim.size=1e9999999999"], "claim.size"),
    ("size-exponent-5000-digits", ["claim.size=1e" + "9" * 5000], "claim.size"),
    ("size-5000-digits", ["claim.size=" + "9" * 5000], "claim.size"),
    ("size-exponent-valid", ["claim.size=1e12"], ""),
    ("size-negative", ["claim.size=-1Gi"], "claim.size"),
    ("size-fraction-of-byte", ["claim.size=1500m"], "claim.size"),
    ("size-with-blank", ["claim.size= 100Gi"], "claim.size"),
]


@pytest.mark.parametrize(("case", "sets", "bad"), API_BOUNDS, ids=[c[0] for c in API_BOUNDS])
def test_api_bounds_checked_offline(case: str, sets: list[str], bad: str) -> None:
    vals = values.load_values("cephfs-rwx", files=[], sets=sets, profiles_dir=None, environ={})
    _, problems = rules.check(vals, Target.OCP4)
    errors = [p for p in problems if p.severity == "error"]
    if not bad:
        assert errors == []
        return
    assert [p.key for p in errors] == [bad], errors


def test_max_threads_is_within_int32() -> None:
    vals = values.load_values(
        "glusterfs", files=[], sets=["registry.maxThreads=2147483648"], profiles_dir=None, environ={}
    )
    _, problems = rules.check(vals, Target.OCP3)
    assert [p.key for p in problems if p.severity == "error"] == ["registry.maxThreads"]


# (id, values file text, unknown key reported or "" when valid)
NULL_KEYS: list[tuple[str, str, str]] = [
    ("unknown-top-level-null", "replicaz: null\n", "replicaz"),
    ("unknown-nested-null", "claim:\n  sise: null\n", "claim.sise"),
    ("unknown-group-null", "clam: null\n", "clam"),
    ("unknown-null-under-null-group", "s4:\n  bucket: null\n", "s4.bucket"),
    ("known-key-null", "claim:\n  storageClass: null\n", ""),
    ("known-group-null", "s3: null\n", ""),
    ("tilde-null", "replicaz: ~\n", "replicaz"),
    ("empty-value-null", "replicaz:\n", "replicaz"),
]


def test_origin_of_a_merged_key_names_the_file_without_a_made_up_line(tmp_path: Path) -> None:
    f = tmp_path / "v.yaml"
    f.write_text("base: &b {replicaz: 2}\n<<: *b\n")
    vals = values.load_values("ebs-gp2-rwo", files=[f], sets=[], profiles_dir=None, environ={})
    assert vals.origin("replicaz") in (str(f), f"{f}:1", f"{f}:2")


@pytest.mark.parametrize(("case", "text", "unknown"), NULL_KEYS, ids=[c[0] for c in NULL_KEYS])
def test_unknown_key_set_to_null_is_an_error(tmp_path: Path, case: str, text: str, unknown: str) -> None:
    f = tmp_path / "v.yaml"
    f.write_text(text)
    vals = values.load_values("ebs-gp2-rwo", files=[f], sets=[], profiles_dir=None, environ={})
    _, problems = rules.check(vals, Target.OCP4)
    unknown_keys = [(p.key, p.origin) for p in problems if "unknown value key" in p.message]
    if unknown:
        line = text.count("\n", 0, text.index(unknown.split(".")[-1])) + 1
        assert (unknown, f"{f}:{line}") in unknown_keys
    else:
        assert unknown_keys == []


# --- issue 10 item 4: one quantity grammar, checked against the Kubernetes client --------------------------

# (input, the client agrees?). Where the Python client (kubernetes.utils.parse_quantity) is laxer than the
# API server's resource.Quantity grammar (it hands the number to Python's Decimal), regplan follows the API
# server: the row says False and why.
QUANTITIES: list[tuple[Any, bool, str]] = [
    ("0", True, ""),
    ("1", True, ""),
    ("+1", True, ""),
    ("-1", True, ""),
    ("007", True, ""),
    ("1.", True, ""),
    (".5", True, ""),
    ("1.5", True, ""),
    ("-1.5Mi", True, ""),
    ("0.5Ti", True, ""),
    *[(f"3{s}", True, "") for s in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")],
    *[(f"3{s}", True, "") for s in ("n", "u", "m", "k", "M", "G", "T", "P", "E")],
    ("1.5Gi", True, ""),
    ("1.G", True, ""),
    ("1e9", True, ""),
    ("1E9", True, ""),
    ("1e+9", True, ""),
    ("1e-3", True, ""),
    ("1.5e3", True, ""),
    ("-2e2", True, ""),
    ("1.e3", True, ""),
    (".5e1", True, ""),
    ("99999999999999999999999999999999Ei", True, ""),  # exact here (the server caps it: refused in values)
    ("123456789012345678901234567890123", True, ""),
    (1024, True, ""),
    ("", True, ""),
    ("Gi", True, ""),
    ("1GB", True, ""),
    ("1gi", True, ""),
    ("1ki", True, ""),
    ("1mi", True, ""),
    ("1Ki1", True, ""),
    ("abc", True, ""),
    ("1.2.3", True, ""),
    ("--1", True, ""),
    ("0x10", True, ""),
    ("1e", True, ""),
    ("1e2.5", True, ""),
    ("e3", True, ""),
    (".", True, ""),
    ("-", True, ""),
    ("1K", False, "K is not a decimal suffix (k is); the client reads it as 10^3"),
    ("1e3Gi", False, "an exponent cannot take a suffix; the client multiplies"),
    (" 1Gi", False, "no blanks in a quantity; Decimal strips them"),
    ("1Gi ", True, ""),
    ("1 Gi", False, "no blanks in a quantity; Decimal strips them"),
    ("1_000", False, "no underscores; Decimal accepts them"),
    ("Infinity", False, "not a number to the API server; Decimal accepts it"),
    ("-inf", False, "not a number to the API server; Decimal accepts it"),
    ("NaN", False, "not a number to the API server; Decimal accepts it"),
    ("1e9999999999", False, "the API server parses the exponent as an int32"),
    ("١٢", False, "ASCII digits only; Decimal accepts any Unicode digit"),
    (True, False, "a boolean is not a quantity; the client reads it as the number 1"),
]


def _client(value: Any) -> Decimal | None:
    from kubernetes.utils import parse_quantity  # the oracle: the test compares, the product never imports it

    with localcontext() as ctx:  # the client computes in the current context: make it exact
        ctx.prec = 200
        try:
            result = parse_quantity(value)
        except (ValueError, ArithmeticError):
            return None
    return result


@pytest.mark.parametrize(("text", "agrees", "why"), QUANTITIES, ids=[repr(q[0]) for q in QUANTITIES])
def test_quantity_grammar_against_the_kubernetes_client(text: Any, agrees: bool, why: str) -> None:
    ours = model.parse_quantity(text)
    theirs = _client(text)
    if agrees:
        assert ours == theirs
    else:
        assert theirs is not None and ours is None, why


@pytest.mark.parametrize(("text", "agrees", "why"), QUANTITIES, ids=[repr(q[0]) for q in QUANTITIES])
def test_values_and_diff_share_the_grammar(text: Any, agrees: bool, why: str) -> None:
    """What the diff parses (normalize) is what the values schema accepts, for whole positive byte counts."""
    from regplan.base import normalize

    parsed = normalize.parse_quantity(text)
    assert parsed == model.parse_quantity(text)
    if not isinstance(text, str):
        return
    whole = parsed is not None and parsed > 0 and parsed == parsed.to_integral_value()
    try:
        canonical = model.canonical_quantity(text)
    except ValueError:
        assert not whole or parsed > model.QUANTITY_MAX
    else:
        assert whole and model.parse_quantity(canonical) == parsed


# (id, file text, CLI arguments with FILE): the real command answers exit 3, no traceback, no value.
CLI_CASES: list[tuple[str, str, list[str]]] = [
    (f"{case}-{cmd[0]}", text, cmd)
    for case, text in [
        ("billion-laughs", laughs()),
        ("deep-flow", "[" * 200_000),
        ("duplicate-key", f"replicas: 1\nreplicas: {SECRET}\n"),
        ("python-tag", f"replicas: !!python/object/apply:os.system ['{SECRET}']\n"),
    ]
    for cmd in (["validate", "-p", "ebs-gp2-rwo", "-f"], ["plan", "-p", "ebs-gp2-rwo", "--snapshot"])
]


@pytest.mark.parametrize(("case", "text", "cmd"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_answers_hostile_files_with_exit_3(tmp_path: Path, case: str, text: str, cmd: list[str]) -> None:
    f = tmp_path / "in.yaml"
    f.write_text(text)
    regplan = Path(sys.executable).parent / "regplan"
    proc = subprocess.run([str(regplan), *cmd, str(f)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == ExitCode.INVALID, proc.stderr
    assert str(f) in proc.stderr and "Traceback" not in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


def test_render_path_does_not_import_kubernetes_or_pyyaml() -> None:
    code = (
        "import sys\n"
        "from regplan.base import model, safeload\n"
        "from regplan.core import render, rules, values\n"
        "from regplan.present import output\n"
        "model.canonical_quantity('1e9'); model.parse_quantity('1Gi')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'yaml'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# --- 6: output safety -------------------------------------------------------------------------------------


def _rendered(*sets: str) -> render.Rendered:
    env = {"AK": "AKIAOUTDIR", "SK": "outdir-secret"}
    v = values.load_values("aws-s3", files=[], sets=list(sets), profiles_dir=None, environ=env)
    return render.render(v, Target.OCP4)


S3_SETS = ("s3.bucket=b-1", "s3.region=r", "s3.accessKeyFrom=env:AK", "s3.secretKeyFrom=env:SK")


@pytest.mark.parametrize("fmt", ["json", "oc", "", "YAML"])
def test_out_dir_refuses_other_formats(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(InvalidInput, match="--out-dir"):
        output.write_dir(_rendered(*S3_SETS), tmp_path / "out", fmt=fmt)
    assert not (tmp_path / "out").exists()


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# (id, how the out-dir is prepared before the failing write). The failing object is a claim whose file
# name is longer than a file name may be (ENAMETOOLONG, also for root): a real write error, mid-way.
OUT_DIR_STATES = ["absent", "empty", "previous-render", "previous-render-and-user-file"]


@pytest.mark.parametrize("state", OUT_DIR_STATES)
def test_out_dir_is_not_half_written(tmp_path: Path, state: str) -> None:
    out = tmp_path / "out"
    if state != "absent":
        out.mkdir()
    if state.startswith("previous-render"):
        output.write_dir(
            render.render(
                values.load_values("ebs-gp2-rwo", files=[], sets=[], profiles_dir=None, environ={}),
                Target.OCP4,
            ),
            out,
        )
    if state.endswith("user-file"):
        (out / "README.md").write_text("mine")
    before = _tree(out) if out.exists() else None
    long_name = (
        "a" * 250
    )  # a valid DNS-1123 subdomain; "01-persistentvolumeclaim-<name>.yaml" is not a file name
    r = render.render(
        values.load_values(
            "ebs-gp2-rwo", files=[], sets=[f"claim.name={long_name}"], profiles_dir=None, environ={}
        ),
        Target.OCP4,
    )
    with pytest.raises(InvalidInput) as err:
        output.write_dir(r, out)
    assert err.value.exit_code is ExitCode.INVALID
    assert f"{out}/01-persistentvolumeclaim-{long_name}.yaml" in str(err.value)
    assert (_tree(out) if out.exists() else None) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(output.STAGING_PREFIX)]
    leftovers += (
        [p.name for p in out.iterdir() if p.name.startswith(output.STAGING_PREFIX)] if out.exists() else []
    )
    assert leftovers == []


@pytest.mark.parametrize("state", OUT_DIR_STATES)
def test_out_dir_written_whole(tmp_path: Path, state: str) -> None:
    out = tmp_path / "out"
    if state != "absent":
        out.mkdir()
    if state.startswith("previous-render"):
        output.write_dir(_rendered(*S3_SETS[:2]), out)  # an operator-managed bucket: no Secret
    if state.endswith("user-file"):
        (out / "README.md").write_text("mine")
    r = _rendered(*S3_SETS)
    written = output.write_dir(r, out)
    tree = _tree(out)
    expected = {p.name for p in written} | ({"README.md"} if state.endswith("user-file") else set())
    assert set(tree) == expected
    secret = next(p for p in written if "-secret-" in p.name)
    assert secret.stat().st_mode & 0o777 == 0o600
    assert (out.stat().st_mode & 0o777) == (0o777 & ~_umask()) or state != "absent"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# How --root may be spelled: the plan goldens hold paths relative to the root, whatever the spelling.
ROOT_SPELLINGS = ["absolute", ".", "tests/..", "../<name>", "symlink"]


@pytest.mark.parametrize("spelling", ROOT_SPELLINGS)
def test_golden_check_does_not_depend_on_the_root_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(ROOT)
    root = {
        "absolute": ROOT,
        ".": Path("."),
        "tests/..": Path("tests/.."),
        "../<name>": Path("..") / ROOT.name,
        "symlink": tmp_path / "link",
    }[spelling]
    if spelling == "symlink":
        root.symlink_to(ROOT)
    result = golden.run(root=root, update=False, only="plan")
    assert result.code is ExitCode.OK, result.report[:2000]


# --- user text quoted in a one-line message: one rule (escape.quoted) for every message ------------------

QUOTED_ATTACKS = ["\x1b]0;owned\x07ebs", "a\nregplan: done", "x\u202etxt", "9" * 5000]


@pytest.mark.parametrize("text", QUOTED_ATTACKS)
def test_every_message_quotes_user_text_by_the_one_rule(text: str) -> None:
    """A quantity, a value, a command-line word and an Argo CD parameter reach messages as
    ``escape.quoted`` shows them: one line, controls and bidi shown escaped, bounded, with an ellipsis."""
    from regplan.base import escape
    from regplan.cli import app, commands

    said: list[tuple[str, str]] = []  # (message, the text it quotes)
    with pytest.raises(ValueError) as quantity:
        model.canonical_quantity(text + "Gi")
    said.append((str(quantity.value), text + "Gi"))
    vals = values.load_values(
        "cephfs-rwx", files=[], sets=[f"claim.accessMode={text}"], profiles_dir=None, environ={}
    )
    _, found = rules.check(vals, Target.OCP4)
    said.append((next(d.message for d in found if d.key == "claim.accessMode"), text))
    with pytest.raises(Exception) as duration:
        app.duration(text + "x")
    said.append((str(duration.value), text + "x"))
    with pytest.raises(InvalidInput) as param:
        commands.argocd_cluster({"ARGOCD_ENV_REGPLAN_CLUSTER": text})
    said.append((str(param.value), text))
    for message, quoted in said:
        assert escape.quoted(quoted) in message, message
        assert escape.UNSAFE_OR_BREAK.search(message) is None and len(message) < 400, message


@pytest.mark.parametrize("argv", [["apply", "--timeout", "W"], ["W"], ["status", "--parallelism", "W"]])
def test_a_long_key_value_word_is_hidden_whole_even_where_the_quote_is_cut(argv: list[str]) -> None:
    """A ``KEY=VALUE`` word's value is never repeated: hidden before it is quoted, so the quote's cut at
    ``escape.QUOTE_LIMIT`` cannot leave a piece of it that ``_redact`` no longer finds."""
    word = "s3.secretKey=" + "wJalrXUtnFEMIK7MDENG" * 10
    p = subprocess.run([sys.executable, "-m", "regplan", *[word if a == "W" else a for a in argv]],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode == 3 and "s3.secretKey=(hidden)" in p.stderr, p.stderr
    assert "wJalr" not in p.stderr + p.stdout
