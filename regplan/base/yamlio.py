"""YAML in and out: loading with line numbers (for origins) and a deterministic dump (for output and golden).

Loading user files uses ruamel.yaml round-trip mode only to learn where each key came from
(``values.yaml:3``); everything downstream works on plain dicts. Dumping is byte-stable: keys in a
canonical Kubernetes order, block style, ``null`` written out (it means "remove" in a merge patch), and
strings that a YAML 1.1 reader (kubectl, oc) would read as something else are quoted.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from ruamel.yaml import YAML

from regplan.base import lazyre, safeload

# Top-level and common keys come first in this order (what people expect to read first); any other key
# follows alphabetically, so the order never depends on how a template or a merge happened to build a dict.
KEY_ORDER: dict[str, int] = {
    k: i
    for i, k in enumerate(
        [
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "namespace",
            "labels",
            "annotations",
            "type",
            "spec",
            "data",
            "stringData",
        ]
    )
}

# Plain scalars that YAML 1.1 (go-yaml v2, used by kubectl/oc 3.x) resolves to bool, null or numbers,
# while YAML 1.2 keeps them strings: quote them so every reader sees the same string.
_YAML11_AMBIGUOUS = lazyre.Pattern(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL"
    r"|[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?0x[0-9a-fA-F_]+|[-+]?0o?[0-7_]+"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


def canonical(obj: Any) -> Any:
    """A copy of ``obj`` with every mapping's keys in canonical order (plain dicts and lists only)."""
    if isinstance(obj, Mapping):
        keys = sorted(obj, key=lambda k: (KEY_ORDER.get(str(k), len(KEY_ORDER)), str(k)))
        return {str(k): canonical(obj[k]) for k in keys}
    if isinstance(obj, list | tuple):
        return [canonical(v) for v in obj]
    return obj


def _dumper() -> YAML:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.width = 4096  # never fold long strings (base64, JSON): a fold is a diff in golden files
    y.explicit_start = True
    y.representer.sort_base_mapping_type_on_output = False  # we order keys ourselves (canonical)

    def represent_str(rep: Any, data: str) -> Any:
        if "\n" in data:
            return rep.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        if data == "" or _YAML11_AMBIGUOUS.fullmatch(data):
            return rep.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return rep.represent_scalar("tag:yaml.org,2002:str", data)

    y.representer.add_representer(str, represent_str)
    return y


def dump_all(docs: Iterable[Any], *, reorder: bool = True) -> str:
    """Multi-document YAML (``---`` before each document), keys in canonical order unless ``reorder``
    is False (then in insertion order: for files whose author chose a reading order, e.g. config.yml)."""
    buf = io.StringIO()
    _dumper().dump_all([canonical(d) if reorder else d for d in docs], buf)
    return buf.getvalue()


def dump(doc: Any, *, reorder: bool = True) -> str:
    """One document, without the leading ``---`` (for files that hold a single object)."""
    text = dump_all([doc], reorder=reorder)
    return text[4:] if text.startswith("---\n") else text


def load_rt(text: str, source: str) -> Any:
    """Parse one hand-written YAML document keeping line numbers (``.lc``), within ``safeload.VALUES``."""
    return safeload.load_yaml_rt(text, source=source, limits=safeload.VALUES)


def load_all_safe(text: str, source: str) -> list[Any]:
    """Parse every document into plain Python data (dicts, lists, scalars), within ``safeload.DEFAULT``."""
    return safeload.load_yaml_all_pure(text, source=source, limits=safeload.DEFAULT)


def line_of(mapping: Any, key: str) -> int | None:
    """1-based line of ``key`` in a round-trip mapping, or None when unknown."""
    lc = getattr(mapping, "lc", None)
    if lc is None:
        return None
    try:
        return int(lc.key(key)[0]) + 1
    except (KeyError, TypeError):
        return None


def to_plain(obj: Any) -> Any:
    """Round-trip containers and scalars -> plain dict/list/str/int/float/bool/None."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    return obj
