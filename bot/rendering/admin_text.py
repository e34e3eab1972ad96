"""The admin commands' answers as text: units, members, invites.

The same words on every channel; only how an invite is used differs — a Telegram link
(``https://t.me/<bot>?start=<token>``) or, on DingTalk, the code the member sends to the
robot — so the caller says how to show an invite (``how``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from bot import catalog
from bot.catalog import Html
from bot.services.invites import InviteInfo
from bot.services.units import ImportReport, MemberRow, UnitRow

__all__ = [
    "HowToJoin",
    "import_report_text",
    "invite_created_text",
    "invite_line",
    "invites_text",
    "members_text",
    "revoked_text",
    "units_text",
]

HowToJoin = Callable[[InviteInfo], str]
MAX_SKIP_LINES = 20


def _time(zone: tzinfo, when: datetime) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def invite_line(locale: str, zone: tzinfo, inv: InviteInfo, how: HowToJoin) -> Html:
    return catalog.t(
        "invite.line",
        locale,
        id=inv.id,
        unit=inv.unit_name or catalog.plain("unit.none", locale),
        role=catalog.plain(f"role.{inv.role.value}", locale),
        link=how(inv),
        expires=_time(zone, inv.expires_at),
        uses=catalog.plain("invite.single" if inv.single_use else "invite.multi", locale),
    )


def invite_created_text(
    locale: str, zone: tzinfo, created: Sequence[InviteInfo], how: HowToJoin
) -> Html:
    """The new invites, and who may receive them (single-use ones: the person only)."""
    lines = [invite_line(locale, zone, inv, how) for inv in created]
    hints = (
        [catalog.t("rough.invite.personal", locale)] if any(i.single_use for i in created) else []
    )
    if not all(i.single_use for i in created):
        hints.append(catalog.t("rough.invite.shareable", locale))
    return Html(
        catalog.t("invite.created", locale, count=len(created))
        + "\n\n"
        + "\n\n".join(lines)
        + "\n\n"
        + "\n".join(hints)
    )


def invites_text(locale: str, zone: tzinfo, active: Sequence[InviteInfo], how: HowToJoin) -> Html:
    if not active:
        return catalog.t("invite.none", locale)
    lines = [invite_line(locale, zone, inv, how) for inv in active]
    header = catalog.t("invite.list_header", locale, count=len(active))
    return Html(header + "\n\n" + "\n\n".join(lines))


def revoked_text(locale: str, inv: InviteInfo) -> Html:
    return catalog.t(
        "invite.revoked_ok",
        locale,
        id=inv.id,
        unit=inv.unit_name or "—",
        role=catalog.plain(f"role.{inv.role.value}", locale),
    )


def members_text(locale: str, people: Sequence[MemberRow]) -> Html:
    """``/members [单位]``: each person with role and unit (the id is the chat principal)."""
    if not people:
        return catalog.t("members.none", locale)
    lines = [
        catalog.t(
            "members.line",
            locale,
            name=m.name,
            role=catalog.plain(f"role.{m.role}", locale),
            unit=m.unit or "—",
            tg=m.principal,
        )
        for m in people
    ]
    return Html(catalog.t("members.header", locale, count=len(lines)) + "\n" + "\n".join(lines))


def units_text(locale: str, rows: Sequence[UnitRow]) -> Html:
    if not rows:
        return catalog.t("units.none", locale)
    lines = [
        catalog.t(
            "units.line",
            locale,
            id=r.id,
            name=r.name,
            short=r.short_name or "—",
            category=r.category or "—",
            members=r.members,
        )
        for r in rows
    ]
    return Html(catalog.t("units.header", locale, count=len(rows)) + "\n" + "\n".join(lines))


def import_report_text(locale: str, report: ImportReport) -> Html:
    """The unit sheet read: how many added, and why rows were skipped (the first 20)."""
    text = catalog.t("import.done", locale, added=len(report.added), skipped=len(report.skipped))
    reasons = [
        catalog.t("import.skip_line", locale, row=row, reason=catalog.t(code, locale, **params))
        for row, code, params in report.skipped[:MAX_SKIP_LINES]
    ]
    if len(report.skipped) > MAX_SKIP_LINES:
        more = len(report.skipped) - MAX_SKIP_LINES
        reasons.append(catalog.t("import.more_skips", locale, count=more))
    return Html("\n".join([text, *reasons]))
