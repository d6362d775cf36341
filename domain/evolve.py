"""`evolve`: `dataclasses.replace` for the frozen, slotted value classes that reducers rebuild on every event.

`dataclasses.replace` walks the class's fields and calls `__init__` with every field as a keyword argument; a
state of two dozen fields costs several microseconds each time, and a rebuild replaces states millions of times.
`evolve` gives the same object (equal field by field) through one function generated per class and set of
changed fields that sets the slots directly. Classes it cannot treat that way (no slots, a `__post_init__`,
fields outside `__init__`) go through `dataclasses.replace` itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Replacer = Callable[[Any, dict[str, Any]], Any]

_REPLACERS: dict[tuple[type[Any], tuple[str, ...]], Replacer] = {}


def evolve(obj: T, /, **changes: Any) -> T:
    """A copy of the dataclass instance `obj` with `changes` applied (as `dataclasses.replace`)."""
    shape = (type(obj), tuple(changes))
    replacer = _REPLACERS.get(shape)
    if replacer is None:
        replacer = _replacer(*shape)
        if len(_REPLACERS) < _MAX_SHAPES:
            _REPLACERS[shape] = replacer
    result: T = replacer(obj, changes)
    return result


_MAX_SHAPES = 4096  # (class, changed fields) pairs with a function of their own: a few dozen in touchline


def _replacer(cls: type[Any], changed: tuple[str, ...]) -> Replacer:
    """One function per class and set of changed fields, which copies the other fields' slots as they are."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError("evolve() should be called on dataclass instances")
    fields = dataclasses.fields(cls)
    slotted = all(isinstance(cls.__dict__.get(f.name), _MEMBER) for f in fields)
    if not slotted or hasattr(cls, "__post_init__") or not all(f.init for f in fields) or \
            len(fields) != len(cls.__dataclass_fields__):
        return _plain_replace
    names = tuple(f.name for f in fields)
    unknown = set(changed) - set(names)
    if unknown:
        _unknown(cls, unknown)
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def replace(obj, changes):", "    out = _new(_cls)"]
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = cls.__dict__[name].__set__
        value = f"changes[{name!r}]" if name in changed else f"obj.{name}"  # (a slot's read: the fastest there is)
        lines.append(f"    _set{index}(out, {value})")
    lines.append("    return out")
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from the class's own field names
    generated: Replacer = namespace["replace"]
    return generated


def _plain_replace(obj: Any, changes: dict[str, Any]) -> Any:
    return dataclasses.replace(obj, **changes)


def _unknown(cls: type[Any], names: set[str]) -> None:
    raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {sorted(names)[0]!r}")


class _Slotted:
    __slots__ = ("x",)


_MEMBER = type(_Slotted.__dict__["x"])
