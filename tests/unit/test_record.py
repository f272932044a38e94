"""``base.record.Record`` behaves as the dataclass it replaces: each check is run on a record class and on
the equivalent ``@dataclass`` and must give the same answer (pure logic, no I/O)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any, ClassVar

import pytest

from regplan.base.record import Record, field


class Point(Record, frozen=True, order=True):
    x: int
    y: int = 0
    LABEL: ClassVar[str] = "p"


@dataclasses.dataclass(frozen=True, order=True)
class DPoint:
    x: int
    y: int = 0
    LABEL: ClassVar[str] = "p"


class Bag(Record):
    name: str
    items: list[str] = field(default_factory=list)
    seen: int = field(default=0)

    def __post_init__(self) -> None:
        self.name = self.name.strip()


@dataclasses.dataclass
class DBag:
    name: str
    items: list[str] = dataclasses.field(default_factory=list)
    seen: int = dataclasses.field(default=0)

    def __post_init__(self) -> None:
        self.name = self.name.strip()


def test_construction_defaults_post_init_and_repr_match_a_dataclass() -> None:
    cases: list[tuple[Any, Any, tuple[Any, ...], dict[str, Any]]] = [
        (Point, DPoint, (1,), {}),
        (Point, DPoint, (1, 2), {}),
        (Point, DPoint, (), {"y": 3, "x": 4}),
        (Bag, DBag, (" a ",), {}),
        (Bag, DBag, ("a",), {"seen": 2, "items": ["i"]}),
    ]
    for cls, dcls, args, kwargs in cases:
        r, d = cls(*args, **kwargs), dcls(*args, **kwargs)
        assert repr(r).replace(cls.__qualname__, "X") == repr(d).replace(dcls.__qualname__, "X")
        assert dataclasses.asdict(r) == dataclasses.asdict(d)
        assert [f.name for f in dataclasses.fields(r)] == [f.name for f in dataclasses.fields(d)]
        assert r.__match_args__ == d.__match_args__


def test_a_factory_default_is_made_per_object_and_is_no_class_attribute() -> None:
    a, b = Bag("a"), Bag("b")
    a.items.append("x")
    assert b.items == [] and a.seen == 0
    assert not hasattr(Bag, "items") and not hasattr(DBag, "items")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, 3), {}), ((1,), {"x": 1}), ((1,), {"z": 1})],
)
def test_wrong_arguments_are_refused_as_a_dataclass_refuses_them(args: Any, kwargs: Any) -> None:
    with pytest.raises(TypeError):
        DPoint(*args, **kwargs)
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


def test_equality_hash_and_order_match_a_dataclass() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert Point(1, 2) != DPoint(1, 2) and Point(1, 2) != (1, 2)  # another class is never equal
    assert hash(Point(1, 2)) == hash(DPoint(1, 2)) == hash((1, 2))
    pts = [Point(2, 0), Point(1, 5), Point(1, 2)]
    dpts = [DPoint(2, 0), DPoint(1, 5), DPoint(1, 2)]
    assert [(p.x, p.y) for p in sorted(pts)] == [(p.x, p.y) for p in sorted(dpts)]
    assert Point(1, 2) <= Point(1, 2) < Point(1, 3) and Point(2, 0) > Point(1, 9) >= Point(1, 9)
    with pytest.raises(TypeError):
        _ = Point(1) < DPoint(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Bag("a") < Bag("b")  # type: ignore[operator]  # no order unless asked


def test_frozen_refuses_assignment_and_a_mutable_record_is_unhashable() -> None:
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.x
    b = Bag("a")
    b.seen = 3
    assert b.seen == 3
    for obj in (Bag("a"), DBag("a")):
        with pytest.raises(TypeError):
            hash(obj)


def test_replace_copy_and_pickle_keep_the_value() -> None:
    p = Point(1, 2)
    assert dataclasses.replace(p, y=5) == Point(1, 5) and p == Point(1, 2)
    b = Bag("a", ["x"])
    assert dataclasses.is_dataclass(b) and dataclasses.is_dataclass(Point)
    assert copy.deepcopy(b) == b and copy.deepcopy(b).items is not b.items
    assert pickle.loads(pickle.dumps(p)) == p


def test_match_by_position() -> None:
    match Point(1, 2):
        case Point(1, y):
            assert y == 2
        case _:
            pytest.fail("no match")


def test_a_subclass_keeps_the_parents_fields_first() -> None:
    class Point3(Point, frozen=True, order=True):
        z: int = 0

    assert Point3(1, 2, 3).FIELDS == ("x", "y", "z") and Point3(1) == Point3(1, 0, 0)


def test_class_definitions_refused_as_a_dataclass_refuses_them() -> None:
    with pytest.raises(ValueError, match="mutable default"):

        class Shared(Record):
            items: list[str] = []

    with pytest.raises(TypeError, match="follows default"):

        class Order(Record):
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(TypeError):
        field()
