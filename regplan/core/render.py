"""Values -> desired objects. The ONLY module that imports jinja2.

Templates live in ``templates/<target>/*.yaml.j2`` (shipped in the package), rendered in name order by a
sandboxed environment with ``StrictUndefined``: a template never sees more than the values and a few
pure helpers, and a typo is an error naming the template and line instead of an empty string. Each
template yields zero or one object. The offline rules run first (``rules.validate``): nothing is
rendered from values that break them. Templates emit YAML (values through ``tojson``, so quoting is never
a template's problem); it is parsed back into plain dicts and sorted with ``model.sort_key``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regplan.base import plain, yamlio
from regplan.base.errors import InvalidInput, ValidationFailed
from regplan.base.escape import quoted
from regplan.base.model import OPERATOR_ANNOTATION, OPERATOR_CLAIM, REGISTRY_NAMESPACE, Obj, Target, sort_key
from regplan.core import rules
from regplan.core.values import Values, builtin_dir

if TYPE_CHECKING:
    from concurrent.futures import Future

CONFIG_SECRET = "registry-config"  # ocp3: the Secret holding config.yml
CONFIG_MOUNT = "/etc/registryconfig"  # ocp3: where it is mounted


class Rendered:
    """The desired objects of one profile on one target (``values`` are the normalised values)."""

    __slots__ = ("objects", "profile", "target", "values")

    def __init__(self, *, target: Target, profile: str, values: Values, objects: list[Obj]) -> None:
        self.target = target
        self.profile = profile
        self.values = values
        self.objects = objects

    def __repr__(self) -> str:
        return f"Rendered(target={self.target!r}, profile={self.profile!r}, objects={len(self.objects)})"


def parse_target(text: str) -> Target:
    """``ocp4`` / ``ocp3`` (render has no cluster to detect ``auto`` from)."""
    try:
        return Target(text)
    except ValueError:
        raise InvalidInput(f"--target {quoted(text)}: valid for render: ocp4, ocp3") from None


def template_dir(target: Target) -> Path:
    return builtin_dir("templates") / target.value


def _b64(value: Any) -> str:
    import base64

    return base64.b64encode(str(value).encode()).decode()


def _tojson(value: Any) -> str:
    # Plain JSON (a valid YAML flow scalar or collection); jinja's own tojson HTML-escapes <>&'.
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _pick(mapping: Mapping[str, Any] | None, *keys: str) -> dict[str, Any]:
    """The given keys that are set: not missing, None or "" (unset S3 fields are the operator's to fill)."""
    src = mapping or {}
    return {k: src[k] for k in keys if src.get(k) is not None and src.get(k) != ""}


_ENVS: dict[Path, Any] = {}  # the sandboxed environment of each templates directory (built on first use)
_ENV_LOCK = threading.Lock()


def _env() -> Any:
    """The environment of the templates directory, built once per process: its loader and compiled-template
    cache are shared by every render (a workspace renders many times; a jinja2 Environment is safe to
    render from several threads)."""
    where = builtin_dir("templates")
    with _ENV_LOCK:
        if where not in _ENVS:
            _ENVS[where] = _new_env(where)
        return _ENVS[where]


def _new_env(where: Path) -> Any:
    from jinja2 import FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(where)),
        # compiled templates keyed by their source checksum, in jinja's per-user temp dir (it checks the
        # owner and mode): saves compiling every template on each run (start-up budget)
        bytecode_cache=_bytecode_cache(FileSystemBytecodeCache),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["b64"] = _b64
    env.filters["tojson"] = _tojson
    env.filters["toyaml"] = lambda doc: yamlio.dump(doc, reorder=False)  # the template's key order
    env.globals["pick"] = _pick
    return env


def _bytecode_cache(cls: Any) -> Any:
    try:
        return cls()
    except (OSError, RuntimeError):  # no usable temp dir: compile every time, still correct
        return None


def render(values: Values, target: Target) -> Rendered:
    """Validate (every problem at once, exit 3), then render every template of the target."""
    norm = rules.validate(values, target)
    backend = rules.backend_of(norm.data)
    context = {
        "v": norm.data,
        "secrets": {k.split(".", 1)[1]: s.value for k, s in norm.secrets.items()},
        "backend": backend,
        "backends": rules.CONFIG_BACKENDS,
        "target": target.value,
        "namespace": REGISTRY_NAMESPACE[target],
        "profile": norm.profile,
        "operator_claim": OPERATOR_CLAIM,
        "operator_annotation": OPERATOR_ANNOTATION,
        "config_secret": CONFIG_SECRET,
        "config_mount": CONFIG_MOUNT,
    }
    env = _env()
    names = sorted(p.name for p in template_dir(target).glob("*.yaml.j2"))
    if not names:
        raise InvalidInput(f"no templates for target {target.value} in {template_dir(target)}")
    objects = [obj for name in names for obj in _render_one(env, f"{target.value}/{name}", context)]
    problems = rules.check_rendered(objects)
    if problems:
        raise ValidationFailed(problems)
    objects.sort(key=sort_key)
    return Rendered(target=target, profile=norm.profile, values=norm, objects=objects)


def _render_one(env: Any, name: str, context: dict[str, Any]) -> list[Obj]:
    from jinja2 import TemplateError, TemplateSyntaxError

    where = f"templates/{name}"
    try:
        text = env.get_template(name).render(context)
    except TemplateSyntaxError as err:
        raise InvalidInput(f"{where}:{err.lineno}: template error: {err.message}") from None
    except TemplateError as err:
        raise InvalidInput(f"{where}:{_template_line(err, name)}: template error: {err}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as err:  # e.g. a helper given a wrong type
        raise InvalidInput(f"{where}:{_template_line(err, name)}: template error: {err}") from None
    if not text.strip(" \r\n"):  # spaces and line breaks only: no document (a template that is off); not
        # a tab, which the loader refuses where a token could start
        return []
    docs = [d for d in yamlio.load_all_safe(text, f"{where} (rendered)") if d is not None]
    if len(docs) > 1:
        raise InvalidInput(f"{where}: a template renders at most one object, got {len(docs)}")
    for doc in docs:
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= set(doc):
            raise InvalidInput(f"{where}: rendered something that is not a Kubernetes object")
    return docs


def _template_line(err: BaseException, name: str) -> str:
    """The template line of a runtime error: jinja rewrites tracebacks to point into the template file."""
    import traceback

    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.replace("\\", "/").endswith(name):
            return str(frame.lineno)
    return "?"


# --- one render per distinct input set (a workspace) ------------------------------------------------------


def render_key(norm: Values, target: Target) -> str:
    """What the rendered objects depend on, as one digest: the target and the NORMALISED values
    (``rules.validate``'s output: the profile, the data, the keys set to null or typed by --set) with each
    secret's key, source and the digest of its content. The templates see nothing else (``render``'s
    context), so equal keys give equal objects. Where each value came from (origins) is left out: it only
    names places in messages, and each cluster validates its own values (``RenderCache.render``)."""
    doc = {
        "target": target.value,
        "profile": norm.profile,
        "data": norm.data,
        "targets": list(norm.targets),
        "unset": sorted(norm.unset),
        "typed": sorted(norm.typed),
        "secrets": {k: [s.source, s.digest] for k, s in sorted(norm.secrets.items())},
    }
    text = json.dumps(doc, sort_keys=True, default=repr, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class RenderCache:
    """``render`` once per distinct normalised values and target of a run over many clusters; thread-safe.

    Each cluster's values are validated as its own (its errors, its origins, its normalised values in the
    result); only the templates' output is shared, and only between equal keys (``render_key``), as a
    fresh copy (callers may change their objects); the first renders, the others wait for it. Failures are
    not kept. At most ``size`` results are kept (least recently used out): memory stays bounded however
    many distinct inputs a workspace has."""

    def __init__(self, size: int = 64) -> None:
        from concurrent.futures import Future  # a workspace run's; not on the start-up path of one render

        self._future = Future
        self.size = size
        self._lock = threading.Lock()
        self._done: OrderedDict[str, Future[Rendered]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def render(self, values: Values, target: Target) -> Rendered:
        norm = rules.validate(values, target)  # this cluster's own: its errors, its origins
        key = render_key(norm, target)
        with self._lock:
            found = self._done.get(key)
            if found is not None:
                self._done.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
                mine: Future[Rendered] = self._future()
                self._done[key] = mine
                while len(self._done) > self.size:
                    self._done.popitem(last=False)
        if found is None:
            try:
                result = render(values, target)
            except BaseException as err:
                with self._lock:
                    if self._done.get(key) is mine:
                        del self._done[key]
                mine.set_exception(err)
                raise
            mine.set_result(result)
            return _copy(result, norm)
        try:
            shared = found.result()
        except Exception:  # the first one's failure is its own: render and report this cluster's
            return render(values, target)
        return _copy(shared, norm)


def _copy(rendered: Rendered, norm: Values) -> Rendered:
    """A cluster's own result: its normalised values, and the shared objects deep-copied (nothing one
    cluster does to its copy reaches another)."""
    return Rendered(
        target=rendered.target,
        profile=norm.profile,
        values=norm,
        objects=plain.copied(rendered.objects),  # copy.deepcopy's copy, faster
    )

