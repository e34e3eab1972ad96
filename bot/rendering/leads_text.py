"""``/leads`` (the list) and ``/lead L0007`` (the card) as text and buttons.

The same words on every channel (Telegram, DingTalk): the catalog, the locale, the zone.
Buttons come as rows of ``(label, value)`` where the value is a typed button of
:mod:`bot.forms.buttons` (a lead's card, a page of the list, the stage menu …): each
adapter encodes it with the one callback codec and draws it its own way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot import catalog
from bot.catalog import Html
from bot.forms.buttons import (
    ConfirmNode,
    EditMenu,
    LeadCard,
    LeadFiles,
    LeadList,
    RejectLead,
    StageMenu,
    VerifyLead,
)
from bot.forms.lead_prompts import shown
from bot.services.lead_notices import Delivery
from bot.services.lead_updates import LeadPage, LeadView

__all__ = [
    "LIST_PROJECT_MAX",
    "Rows",
    "card_buttons",
    "card_text",
    "delivery_text",
    "list_buttons",
    "list_text",
]

LIST_PROJECT_MAX = 30
Rows = list[list[tuple[str, Any]]]  # (label, a bot.forms.buttons value)


def _t(locale: str, key: str, /, **values: Any) -> Html:
    return catalog.t(key, locale, **values)


def _label(locale: str, key: str, /, **values: Any) -> str:
    return catalog.plain(key, locale, **values)


def list_text(locale: str, page: LeadPage) -> Html:
    """The header (scope, stage filter, page) and one line per lead."""
    scope = _label(locale, "leads.list.all_units") if page.all_units else (page.unit_name or "")
    text = _t(
        locale,
        "leads.list.header",
        scope=scope,
        stage=page.stage or _label(locale, "leads.list.all_stages"),
        total=page.total,
        page=page.page + 1,
        pages=page.pages,
    )
    lines = []
    for row in page.rows:
        project = row.project
        if len(project) > LIST_PROJECT_MAX:
            project = project[: LIST_PROJECT_MAX - 1] + "…"
        line = _t(
            locale,
            "leads.list.line_unit" if page.all_units else "leads.list.line",
            code=row.code,
            project=project,
            stage=row.stage,
            unit=row.unit_name,
        )
        if row.duplicate_of:
            line = Html(line + _t(locale, "leads.list.duplicate", first=row.duplicate_of))
        if row.review != "pending":
            line = Html(line + _t(locale, f"leads.list.review.{row.review}"))
        lines.append(line)
    body = Html("\n".join(lines)) if lines else _t(locale, "leads.list.empty")
    return Html(text + "\n" + body)


def list_buttons(locale: str, stages: Sequence[str], page: LeadPage) -> Rows:
    """Each lead's card, the stage filters, previous / next page."""
    s = str(stages.index(page.stage)) if page.stage in stages else "a"
    codes: list[tuple[str, Any]] = [(row.code, LeadCard(row.lead_id)) for row in page.rows]
    rows: Rows = [codes[i : i + 5] for i in range(0, len(codes), 5)]
    all_label = _label(locale, "leads.list.all_stages")
    filters: list[tuple[str, Any]] = [
        (("✓ " if page.stage is None else "") + all_label, LeadList("a", 0))
    ]
    filters += [
        (("✓ " if stage == page.stage else "") + stage, LeadList(str(i), 0))
        for i, stage in enumerate(stages)
    ]
    rows += [filters[i : i + 4] for i in range(0, len(filters), 4)]
    nav: list[tuple[str, Any]] = []
    if page.page > 0:
        nav.append((_label(locale, "leads.button.prev"), LeadList(s, page.page - 1)))
    if page.page < page.pages - 1:
        nav.append((_label(locale, "leads.button.next"), LeadList(s, page.page + 1)))
    if nav:
        rows.append(nav)
    return rows


def _when(zone: tzinfo, when: datetime | None) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M") if when else "—"


def card_text(locale: str, zone: tzinfo, view: LeadView) -> Html:
    """The lead's card: everything for its unit and leaders, an outline for others."""
    c = view.card
    lines = [_t(locale, "leads.card.title", code=c.code, project=c.project)]
    if c.duplicate_of:
        lines.append(_t(locale, "leads.card.duplicate", first=c.duplicate_of))
    lines.append(_t(locale, "leads.card.unit_stage", unit=c.unit_name, stage=c.stage))
    if not c.full:
        lines.append(_t(locale, "leads.card.outline"))
        return Html("\n".join(lines))

    def show(field: str, value: Any) -> str:
        return shown(field, value, locale)

    lines += [
        _t(locale, "leads.card.company", company=show("company", c.company)),
        _t(locale, "leads.card.credit_code", code=show("credit_code", c.credit_code)),
        _t(
            locale,
            "leads.card.industry",
            industry=show("industry", c.industry),
            origin=show("origin", c.origin),
        ),
        _t(locale, "leads.card.amount", amount=show("amount_wan", c.amount_wan)),
        _t(locale, "leads.card.foreign", amount=show("foreign_usd", c.foreign_usd)),
        _t(locale, "leads.card.tags", tags=show("tags", list(c.tags))),
        _t(
            locale,
            "leads.card.contact",
            name=show("contact_name", c.contact_name),
            phone=show("contact_phone", c.contact_phone),
        ),
        _t(locale, "leads.card.channel", channel=show("channel", c.channel)),
        _t(locale, "leads.card.notes", notes=show("notes", c.notes)),
        _t(locale, "leads.card.files", count=c.attachments),
        _t(
            locale,
            "leads.card.reported",
            reporter=c.reporter or "—",
            when=_when(zone, c.reported_at),
        ),
    ]
    review = _t(locale, f"leads.review.state.{c.review or 'pending'}")
    if c.review_note:
        review = _t(locale, "leads.card.review_note", state=review, note=c.review_note)
    lines.append(_t(locale, "leads.card.review", review=review))
    if view.nodes:  # 逐节点认定: what is confirmed and what waits
        words = [
            _label(locale, "leads.card.node_done" if done else "leads.card.node_waiting", stage=s)
            for s, done in view.nodes
        ]
        lines.append(_t(locale, "leads.card.nodes", nodes="、".join(words)))
    return Html("\n".join(lines))


def card_buttons(locale: str, view: LeadView, confirm_stages: bool) -> Rows:
    """What this person may do with the lead: stage, edit, the leaders' verdicts, files."""
    lead_id, rows = view.lead_id, []
    first: list[tuple[str, Any]] = []
    if view.can_stage:
        first.append((_label(locale, "leads.button.stage"), StageMenu(lead_id)))
    if view.can_edit:
        first.append((_label(locale, "leads.button.edit"), EditMenu(lead_id)))
    if first:
        rows.append(first)
    if view.can_review:
        review: list[tuple[str, Any]] = []
        if view.card.review != "verified":
            review.append((_label(locale, "leads.button.verify"), VerifyLead(lead_id)))
        if view.card.review != "rejected":
            review.append((_label(locale, "leads.button.reject"), RejectLead(lead_id)))
        if confirm_stages:  # 逐节点认定
            review.append((_label(locale, "leads.button.confirm"), ConfirmNode(lead_id)))
        rows.append(review)
    if view.card.full and view.card.attachments:
        count = view.card.attachments
        rows.append([(_label(locale, "leads.button.files", count=count), LeadFiles(lead_id))])
    return rows


def delivery_text(locale: str, done: Delivery) -> Html:
    """「已通知该单位 2 人」 after a verdict, with the failures and the ones still queued."""
    if done.failed:
        text = _t(locale, "leads.review.notified_some", sent=done.sent, failed=done.failed)
    else:
        text = _t(locale, "leads.review.notified", sent=done.sent)
    if done.waiting:
        text = Html(text + "\n" + _t(locale, "leadprompts.review.waiting", waiting=done.waiting))
    return text
