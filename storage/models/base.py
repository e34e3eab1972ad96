"""Base declarations shared by every model module.

Times are stored as naive UTC on every backend (see :class:`UTCDateTime`) so
that SQLite's text comparison and PostgreSQL's timestamps order the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, naive UTC on disk."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """:meth:`process_result_value` after the dialect's own parsing, in one function: a
        report reads tens of thousands of instants, and the decorator's layering cost two
        more Python calls each."""
        parse = self.impl_instance.result_processor(dialect, coltype)
        if parse is None:  # the driver gives datetimes (asyncpg)

            def utc(value: datetime | None) -> datetime | None:
                # combine() sets the zone in a fifth of replace(tzinfo=...)'s time
                return None if value is None else _combine(value.date(), value.time(), UTC)

            return utc

        def parsed_utc(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str and len(value) == 26 and value[10] == " ":
                # As SQLAlchemy writes an instant, "2026-11-01 02:00:00.000000": parsed with
                # its zone in one C call (setting tzinfo by replace() costs four parses).
                try:  # (a try costs nothing; contextlib.suppress four times the parse)
                    return _from_iso(value + "+00:00")
                except ValueError:
                    pass
            when = parse(value)  # any other form as the dialect reads it
            return None if when is None else _combine(when.date(), when.time(), UTC)

        return parsed_utc


_from_iso = datetime.fromisoformat
_combine = datetime.combine


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }
