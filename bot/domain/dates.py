"""Days as people type them: ``明天``, ``下周一``, ``12月3日``, ``2026-12-03``, ``3天后``.

One parser for every step that asks for a day (the activity form, ``/leave``). A form that
asks about the past (an activity's date) reads a bare ``11月20日`` or ``周五`` as the latest
such day on or before today; one that asks about the future (the end of a leave) as the
next one on or after today. Words that name a day outright (``明天``, ``下周一``) mean that
day either way: whether it may lie in the past or future is the caller's check.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

_RELATIVE = {
    "今天": 0,
    "今日": 0,
    "today": 0,
    "明天": 1,
    "明日": 1,
    "tomorrow": 1,
    "后天": 2,
    "大后天": 3,
    "昨天": -1,
    "昨日": -1,
    "yesterday": -1,
    "前天": -2,
    "大前天": -3,
}
_ISO = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_MD = re.compile(r"(\d{1,2})[-/.月](\d{1,2})[日号]?")
_IN_DAYS = re.compile(r"(\d{1,3})(?:天后|天以后|days?later)|in(\d{1,3})days?")
_DAYS_AGO = re.compile(r"(\d{1,3})(?:天前|天以前|days?ago)")
_WEEKDAY_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAY_EN = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
_WEEK_ZH = re.compile(r"(下下|下个?|上个?|本|这个?|今)?(?:周|星期|礼拜)([一二三四五六日天末])")
_WEEK_EN = re.compile(r"(next|last|this)?([a-z]+)")
_WEEK_SHIFT = {
    "下下": 2,
    "下": 1,
    "下个": 1,
    "上": -1,
    "上个": -1,
    "本": 0,
    "这": 0,
    "这个": 0,
    "今": 0,
    "next": 1,
    "last": -1,
    "this": 0,
}


def parse_day(text: str, today: date, *, future: bool) -> date | None:
    """The day ``text`` names, seen from ``today``; None when it names none (or no real day)."""
    raw = unicodedata.normalize("NFKC", text or "").strip().lower().replace(" ", "")
    raw = raw.rstrip("。.!！")
    if not raw:
        return None
    if raw in _RELATIVE:
        return today + timedelta(days=_RELATIVE[raw])
    try:
        if m := _ISO.fullmatch(raw):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _MD.fullmatch(raw):
            found = date(today.year, int(m.group(1)), int(m.group(2)))
            if future and found < today:
                return found.replace(year=today.year + 1)
            if not future and found > today:
                return found.replace(year=today.year - 1)
            return found
    except ValueError:  # 2月30日
        return None
    if m := _IN_DAYS.fullmatch(raw):
        return today + timedelta(days=int(m.group(1) or m.group(2)))
    if m := _DAYS_AGO.fullmatch(raw):
        return today - timedelta(days=int(m.group(1)))
    return _weekday(raw, today, future)


def _weekday(raw: str, today: date, future: bool) -> date | None:
    if m := _WEEK_ZH.fullmatch(raw):
        shift, weekday = m.group(1), _WEEKDAY_ZH[m.group(2)]
    elif (m := _WEEK_EN.fullmatch(raw)) and m.group(2) in _WEEKDAY_EN:
        shift, weekday = m.group(1), _WEEKDAY_EN[m.group(2)]
    else:
        return None
    if shift is None:  # 周五: the nearest one in the direction the question looks
        delta = (weekday - today.weekday()) % 7
        return today + timedelta(days=delta) if future else today - timedelta(days=(7 - delta) % 7)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=_WEEK_SHIFT[shift], days=weekday)
