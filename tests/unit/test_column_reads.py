"""Columns read back as written: instants (storage/models/base.py UTCDateTime: naive UTC
written, aware UTC read back, through the SQLite fast path exactly as through the dialect's
own parser) and JSON values (storage/db.py json_loads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from storage.db import json_loads
from storage.models.base import UTCDateTime

DIALECT = sqlite.dialect()
READ = UTCDateTime().dialect_impl(DIALECT).result_processor(DIALECT, None)
WRITE = UTCDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)
DIALECT_READ = DATETIME().result_processor(DIALECT, None)

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


@given(st.datetimes(timezones=ZONES))
def test_an_instant_written_reads_back_the_same_instant_in_utc(when: datetime) -> None:
    stored = WRITE(when)
    assert isinstance(stored, str) and len(stored) == 26
    back = READ(stored)
    assert back == when and back.tzinfo is UTC
    assert back == DIALECT_READ(stored).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["2026-11-01", "2026-11-01 02:00:00", "2026-11-01 02:00:00.5", "2026-11-01T02:00:00.123456"],
)
def test_another_form_is_read_as_the_dialect_reads_it(text: str) -> None:
    back = READ(text)
    assert back == DIALECT_READ(text).replace(tzinfo=UTC) and back.tzinfo is UTC


def test_nothing_reads_as_nothing() -> None:
    assert READ(None) is None


def test_an_odd_text_of_the_usual_length_is_left_to_the_dialect() -> None:
    text = "2026-11-01 02:00:00+08:00x"  # 26 characters, a space at 10: not an instant we wrote
    try:
        expected: object = DIALECT_READ(text).replace(tzinfo=UTC)
    except ValueError as e:
        expected = type(e)
    try:
        got: object = READ(text)
    except ValueError as e:
        got = type(e)
    assert got == expected


@given(st.datetimes())
def test_postgresql_instants_come_back_aware_in_utc(naive: datetime) -> None:
    """asyncpg gives naive datetimes (timestamp without time zone): UTC is set on them."""
    from sqlalchemy.dialects.postgresql.asyncpg import dialect

    pg = dialect()
    read = UTCDateTime().dialect_impl(pg).result_processor(pg, None)
    back = read(naive)
    assert back == naive.replace(tzinfo=UTC) and back.tzinfo is UTC and back.fold == naive.fold
    assert read(None) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(_JSON)
def test_a_json_value_reads_back_as_the_parser_reads_it(value: object) -> None:
    text = json.dumps(value)
    assert json_loads(text) == json.loads(text)


def test_the_empty_list_is_a_new_list_each_time() -> None:
    first = json_loads("[]")
    first.append("外资")
    assert json_loads("[]") == [] and first == ["外资"]
