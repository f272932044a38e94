"""Records: the small typed row and value classes of regplan, with what a dataclass gives them, built
without generating code.

``@dataclass`` compiles an ``__init__``, ``__eq__``, ``__repr__`` (and ``__hash__``, ``__setattr__``,
order methods) with ``exec`` for every class when its module is imported: ~0.4-0.7 ms a class, paid on
every start of ``regplan render`` for classes it never uses (docs/performance.md, "Start-up"). A
``Record`` subclass gets the same behaviour from the generic methods below:

- fields are the class's annotations in order (a parent's first; ``ClassVar`` ones are not fields), with
  defaults from the class body or ``field(default=..., default_factory=...)``;
- ``__init__`` takes them positionally or by keyword, then calls ``__post_init__`` when defined;
- equal when the classes are the same and the fields equal (``NotImplemented`` otherwise), as a
  dataclass; ``frozen=True`` refuses assignment (``dataclasses.FrozenInstanceError``) and hashes the
  fields; a mutable record is unhashable; ``order=True`` compares the fields as a tuple;
- ``repr`` as a dataclass writes it; ``match`` positional patterns; ``dataclasses.fields``, ``replace``,
  ``asdict`` and ``is_dataclass`` work on them.

    class Ref(Record, frozen=True, order=True):
        kind: str
        name: str = ""

``tests/unit/test_record.py`` checks each of these against a real dataclass.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
from collections.abc import Callable
from typing import Any, ClassVar, dataclass_transform

_MISSING: Any = dataclasses.MISSING
_UNHASHABLE = (list, dict, set)  # a shared mutable default: refused, as a dataclass refuses it


class _Factory:
    """A default made for each object (``field(default_factory=...)``)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] = _MISSING) -> Any:
    """A field's default, as ``dataclasses.field(default=...)`` or ``field(default_factory=...)``."""
    if (default is _MISSING) == (default_factory is _MISSING):
        raise TypeError("field() takes exactly one of default and default_factory")
    return default if default_factory is _MISSING else _Factory(default_factory)


def _described(name: str, default: Any) -> dataclasses.Field[Any]:
    """A field as the dataclasses module describes it (for ``fields``/``replace``/``asdict``)."""
    f: dataclasses.Field[Any]
    if isinstance(default, _Factory):
        f = dataclasses.field(default_factory=default.make)
    else:
        f = dataclasses.field(default=default)
    f.name = name
    f._field_type = dataclasses._FIELD  # type: ignore[attr-defined]
    return f


def _class_var(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


@dataclass_transform(field_specifiers=(field,))
class Record:
    """The base of a record class (see the module docstring). Options: ``frozen``, ``order``."""

    FIELDS: ClassVar[tuple[str, ...]] = ()  # the fields, in declaration order (parents' first)
    _DEFAULTS: ClassVar[dict[str, Any]] = {}
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]] = {}
    _POST_INIT: ClassVar[bool] = False
    _get: ClassVar[Callable[[Any], tuple[Any, ...]]] = staticmethod(lambda _: ())

    def __init_subclass__(cls, *, frozen: bool = False, order: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotations = inspect.get_annotations(cls)
        own = [n for n, a in annotations.items() if not _class_var(a)]
        fields = (*cls.FIELDS, *(n for n in own if n not in cls.FIELDS))
        defaults = dict(cls._DEFAULTS)
        for name in own:
            if name in cls.__dict__:
                default = cls.__dict__[name]
                if isinstance(default, _UNHASHABLE):
                    raise ValueError(f"mutable default {type(default)} for field {name} is not allowed")
                defaults[name] = default
                if isinstance(default, _Factory):
                    delattr(cls, name)  # as a dataclass: no class attribute for a made default
            else:
                defaults.pop(name, None)
        seen_default = ""
        for name in fields:
            if name in defaults:
                seen_default = name
            elif seen_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
        cls.FIELDS = fields
        setattr(cls, "__match_args__", fields)  # noqa: B010  (mypy: not assignable as an attribute)
        cls._DEFAULTS = defaults
        cls.__dataclass_fields__ = {n: _described(n, defaults.get(n, _MISSING)) for n in fields}
        cls._POST_INIT = hasattr(cls, "__post_init__")
        cls._get = staticmethod(_getter(fields))
        if frozen:
            cls.__setattr__ = _frozen_setattr  # type: ignore[method-assign,assignment]
            cls.__delattr__ = _frozen_delattr  # type: ignore[method-assign,assignment]
            cls.__hash__ = _hash  # type: ignore[method-assign,assignment]
        elif "__hash__" not in cls.__dict__:
            cls.__hash__ = None  # type: ignore[assignment]  # equal by value and mutable: unhashable
        if order:
            setattr(cls, "__lt__", _lt)  # noqa: B010
            setattr(cls, "__le__", _le)  # noqa: B010
            setattr(cls, "__gt__", _gt)  # noqa: B010
            setattr(cls, "__ge__", _ge)  # noqa: B010

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self.FIELDS
        if kwargs or len(args) != len(fields):
            self._fill(args, kwargs)
        else:  # every field given by position: the common case, at C speed
            self.__dict__.update(zip(fields, args, strict=True))
        if self._POST_INIT:
            getattr(self, "__post_init__")()  # noqa: B009  (not declared on Record)

    def _fill(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        fields = self.FIELDS
        kind = type(self).__qualname__
        if len(args) > len(fields):
            raise TypeError(f"{kind}() takes {len(fields)} positional arguments but {len(args)} were given")
        put = object.__setattr__
        for name, value in zip(fields, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{kind}() got multiple values for argument {name!r}")
            put(self, name, value)
        for name in fields[len(args) :]:
            if name in kwargs:
                value = kwargs.pop(name)
            elif name in self._DEFAULTS:
                default = self._DEFAULTS[name]
                value = default.make() if isinstance(default, _Factory) else default
            else:
                raise TypeError(f"{kind}() missing required argument: {name!r}")
            put(self, name, value)
        if kwargs:
            raise TypeError(f"{kind}() got an unexpected keyword argument {next(iter(kwargs))!r}")

    def _astuple(self) -> tuple[Any, ...]:
        return type(self)._get(self)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            get = type(self)._get
            return bool(get(self) == get(other))
        return NotImplemented

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.FIELDS)
        return f"{type(self).__qualname__}({shown})"


def _getter(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields' values of an object as a tuple (``operator.attrgetter``: C speed for hash and order)."""
    if len(fields) >= 2:
        return operator.attrgetter(*fields)
    if fields:
        one = operator.attrgetter(fields[0])
        return lambda obj: (one(obj),)
    return lambda _: ()


def _frozen_setattr(self: Record, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Record, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _hash(self: Record) -> int:
    return hash(type(self)._get(self))


def _lt(self: Record, other: object) -> Any:
    if other.__class__ is self.__class__:
        assert isinstance(other, Record)
        return self._astuple() < other._astuple()
    return NotImplemented


def _le(self: Record, other: object) -> Any:
    if other.__class__ is self.__class__:
        assert isinstance(other, Record)
        return self._astuple() <= other._astuple()
    return NotImplemented


def _gt(self: Record, other: object) -> Any:
    if other.__class__ is self.__class__:
        assert isinstance(other, Record)
        return self._astuple() > other._astuple()
    return NotImplemented


def _ge(self: Record, other: object) -> Any:
    if other.__class__ is self.__class__:
        assert isinstance(other, Record)
        return self._astuple() >= other._astuple()
    return NotImplemented
