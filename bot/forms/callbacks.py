"""Button data: declared once per feature as a typed value, encoded and decoded here only.

A feature declares a frozen dataclass and registers it under a short prefix::

    @dataclass(frozen=True)
    class LeadPage:
        page: int
        stage: str

    CODEC.register("lp", LeadPage)

    CODEC.encode(LeadPage(2, "在谈"))   # "lp:2:在谈"
    CODEC.decode("lp:2:在谈")           # LeadPage(page=2, stage="在谈")
    CODEC.decode("lp:x")                # STALE

A prefix is a short word, or two joined by ``:`` (``lb:sg``: the leads feature's
"stage chosen"); the longest registered prefix wins. Fields are ``str``, ``int`` (not negative: ids, indexes, pages) or ``bool`` (``int | None`` / ``str | None`` too, written
as an empty part). The wire form is ``prefix:part:part``; a ``str`` part may not
contain ``:`` (refused at encode time, so a bug shows in tests, not in production).
Anything that does not decode cleanly -- an unknown prefix, a wrong number of
parts, a non-number where a number belongs, data from an older release -- decodes
to :data:`STALE`, and the adapter answers it with the usual "this button has
expired" popup. Telegram allows 64 bytes of callback data; :meth:`Codec.encode`
refuses more.

One class may be registered under several prefixes with ``fixed`` values that are
not written on the wire (the form engine does this: each form has its own prefix
for the same :class:`bot.forms.model.Choose` value, ``form`` being fixed).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Final, Union

MAX_BYTES: Final = 64
SEP: Final = ":"


class _Stale:
    """What a button that no longer means anything decodes to."""

    _instance: _Stale | None = None

    def __new__(cls) -> _Stale:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STALE"

    def __bool__(self) -> bool:
        return False


STALE: Final = _Stale()


class CallbackTooLong(ValueError):
    pass


@dataclass(frozen=True)
class _Entry:
    prefix: str
    cls: type
    fixed: tuple[tuple[str, Any], ...]
    wire: tuple[tuple[str, type, bool], ...]  # (field, base type, optional) written on the wire


def _field_type(hint: Any) -> tuple[type, bool]:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and args[0] in (str, int, bool):
            return args[0], True
    if hint in (str, int, bool):
        return hint, False
    raise TypeError(f"callback fields are str, int or bool (or optional), not {hint!r}")


class Codec:
    def __init__(self) -> None:
        self._by_prefix: dict[str, _Entry] = {}
        self._by_class: dict[tuple[type, tuple[tuple[str, Any], ...]], _Entry] = {}

    def register(self, prefix: str, cls: type, **fixed: Any) -> None:
        if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"{cls.__name__} must be a frozen dataclass")
        if not prefix or len(prefix) > 8 or "" in prefix.split(SEP) or prefix.count(SEP) > 1:
            raise ValueError(f"prefix {prefix!r}: up to 8 characters, at most one {SEP!r}")
        if prefix in self._by_prefix:
            raise ValueError(f"prefix {prefix!r} is registered twice")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = set(fixed) - set(names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field {sorted(unknown)}")
        wire = tuple((n, *_field_type(hints[n])) for n in names if n not in fixed)
        key = tuple(sorted(fixed.items()))
        entry = _Entry(prefix, cls, key, wire)
        self._by_prefix[prefix] = entry
        self._by_class[(cls, key)] = entry

    def prefixes(self) -> set[str]:
        return set(self._by_prefix)

    def handles(self, data: str | None) -> bool:
        """Whether the data carries one of our prefixes (it may still be stale)."""
        return self._split(data) is not None

    def _split(self, data: str | None) -> tuple[_Entry, list[str]] | None:
        """The entry of the longest registered prefix (``lb:sg`` before ``lb``), and the rest."""
        parts = (data or "").split(SEP)
        for n in (2, 1):
            entry = self._by_prefix.get(SEP.join(parts[:n])) if len(parts) >= n else None
            if entry is not None:
                return entry, parts[n:]
        return None

    def encode(self, value: Any) -> str:
        entry = self._entry_for(value)
        parts = [entry.prefix]
        for name, kind, _optional in entry.wire:
            part = getattr(value, name)
            if part is None:
                parts.append("")
            elif kind is bool:
                parts.append("1" if part else "0")
            else:
                text = str(part)
                if SEP in text:
                    raise ValueError(f"{type(value).__name__}.{name} may not contain {SEP!r}")
                parts.append(text)
        data = SEP.join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise CallbackTooLong(f"{data!r} is longer than {MAX_BYTES} bytes")
        return data

    def decode(self, data: str | None) -> Any:
        """The typed value, or :data:`STALE` when the data means nothing (any more)."""
        found = self._split(data) if data and len(data.encode()) <= MAX_BYTES else None
        if found is None or len(found[1]) != len(found[0].wire):
            return STALE
        entry, parts = found
        values: dict[str, Any] = dict(entry.fixed)
        for (name, kind, optional), part in zip(entry.wire, parts, strict=True):
            if part == "":
                if not optional and kind is not str:
                    return STALE
                values[name] = None if optional else ""
            elif kind is int:
                if not (part.isascii() and part.isdigit()) or len(part) > 18:  # ids, indexes
                    return STALE
                values[name] = int(part)
            elif kind is bool:
                if part not in ("0", "1"):
                    return STALE
                values[name] = part == "1"
            else:
                values[name] = part
        try:
            return entry.cls(**values)
        except (TypeError, ValueError):
            return STALE

    def _entry_for(self, value: Any) -> _Entry:
        cls = type(value)
        for (known, fixed), entry in self._by_class.items():
            if known is cls and all(getattr(value, k) == v for k, v in fixed):
                return entry
        raise KeyError(f"{cls.__name__} {value!r} is not registered")


CODEC: Final = Codec()
"""The one codec of the application: every feature registers its button values here."""


def encode(value: Any) -> str:
    return CODEC.encode(value)


def decode(data: str | None) -> Any:
    return CODEC.decode(data)
