"""What the weekly cycle tells people other than the one acting, through the notifier.

* The confirmation request to the unit's head(s) after a liaison submits
  (:func:`ask_heads`), with 确认 / 退回 buttons, rendered at send time in the
  head's language by the renderer registered here.
* The decision notice to the submitter after the head confirms or returns
  (:func:`tell_submitter`).

Both are planned in the caller's transaction (the submit's or the decision's), keyed by
the version, so handling one update twice — or pressing twice — plans each once.
:func:`view_lines` is how a submission reads (the preview, the head's card).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog, notifier
from bot.catalog import Html
from bot.domain.enums import Outcome
from bot.forms.buttons import WeeklyDecision
from bot.forms.callbacks import encode
from bot.forms.model import Msg
from bot.services.weekly.config import period_label, when_text
from bot.services.weekly.draft import LeadOption
from bot.services.weekly.submit import Decision, ProgressLine, SubmissionView, SubmitResult
from storage.models import OutboxMessage

REQUEST = "weekly.head_card"  # the notifier kind of the chat form's request to a head (the card)
DECISION = "weekly.decision"


def view_lines(
    view: SubmissionView, locale: str, *, title: str = "weekly.view.title", zone: Any = None
) -> list[Msg]:
    """A submission as catalog lines: the title, its four sections, who and when."""
    none = Msg("weekly.view.none")
    lines = [
        Msg(
            title,
            {
                "unit": view.unit_name,
                "period": period_label(view.period_key, locale),
                "number": view.number,
            },
        )
    ]
    if view.late:
        lines.append(Msg("weekly.view.late"))
    lines.append(Msg("weekly.view.leads"))
    lines += [
        Msg("weekly.view.lead_line", {"code": o.code, "project": o.project, "stage": o.stage})
        for o in view.leads
    ] or [Msg("weekly.view.indent", {"text": none})]
    lines.append(Msg("weekly.view.trips"))
    lines += [
        Msg("weekly.view.numbered", {"n": i, "text": trip}) for i, trip in enumerate(view.trips, 1)
    ] or [Msg("weekly.view.indent", {"text": none})]
    lines.append(Msg("weekly.view.progress"))
    for i, p in enumerate(view.progress, 1):
        stage = (
            Msg("weekly.view.stage_change", {"from": p.from_stage or "?", "to": p.to_stage})
            if p.to_stage
            else ""
        )
        lines.append(
            Msg(
                "weekly.view.progress_line",
                {"n": i, "code": p.code, "project": p.project, "text": p.text, "stage": stage},
            )
        )
    if not view.progress:
        lines.append(Msg("weekly.view.indent", {"text": none}))
    lines.append(Msg("weekly.view.work"))
    lines.append(Msg("weekly.view.indent", {"text": view.work or none}))
    if view.submitted_at is not None:
        at = view.submitted_at.astimezone(zone) if zone is not None else view.submitted_at
        lines.append(
            Msg("weekly.view.by", {"name": view.submitted_by, "when": when_text(at, locale)})
        )
    return lines


def view_html(
    view: SubmissionView, locale: str, *, title: str = "weekly.view.title", zone: Any = None
) -> Html:
    return Html("\n".join(m.html(locale) for m in view_lines(view, locale, title=title, zone=zone)))


# --- a view as JSON (the outbox row keeps it until it is sent) ------------------------------


def view_json(view: SubmissionView) -> dict[str, Any]:
    return {
        "unit": view.unit_name,
        "period": view.period_key,
        "number": view.number,
        "by": view.submitted_by,
        "at": view.submitted_at.isoformat() if view.submitted_at else None,
        "late": view.late,
        "leads": [[o.lead_id, o.code, o.project, o.stage] for o in view.leads],
        "trips": list(view.trips),
        "progress": [[p.code, p.project, p.text, p.from_stage, p.to_stage] for p in view.progress],
        "work": view.work,
    }


def view_from_json(data: dict[str, Any]) -> SubmissionView:
    return SubmissionView(
        str(data["unit"]),
        str(data["period"]),
        int(data["number"]),
        str(data["by"]),
        datetime.fromisoformat(data["at"]) if data.get("at") else None,
        bool(data.get("late")),
        tuple(LeadOption(int(i), c, p, s) for i, c, p, s in data.get("leads") or []),
        tuple(data.get("trips") or []),
        tuple(ProgressLine(c, p, t, f, to) for c, p, t, f, to in data.get("progress") or []),
        str(data.get("work") or ""),
    )


# --- the head's confirmation request ----------------------------------------------------------


def _ask_line(result: SubmitResult, locale: str) -> Msg:
    """The limit the head really has: the deadline, or for a late one the end of the late window."""
    if result.late and result.late_until is not None:
        return Msg("rough.weekly.confirm_ask_late", {"until": when_text(result.late_until, locale)})
    return Msg("weekly.confirm.ask", {"deadline": when_text(result.info.deadline, locale)})


async def ask_heads(
    session: AsyncSession,
    now: datetime,
    result: SubmitResult,
    *,
    default_locale: str,
    zone: tzinfo | None = None,
) -> int:
    """Plan the request to each head in the submit's transaction; how many were planned.
    ``zone``: the card shows when it was submitted in local time (the outbox renders it
    later, without the settings)."""
    planned = 0
    view = result.view
    if zone is not None and view.submitted_at is not None:
        view = dataclasses.replace(view, submitted_at=view.submitted_at.astimezone(zone))
    for head in result.heads:
        loc = head.locale or default_locale
        payload = {
            "view": view_json(view),
            "ask": [_ask_line(result, loc).key, _ask_line(result, loc).params],
            "version": result.version_id,
        }
        buttons = [
            [
                {
                    "label": "weekly.button.confirm",
                    "data": encode(WeeklyDecision(result.version_id, "ok")),
                },
                {
                    "label": "weekly.button.return",
                    "data": encode(WeeklyDecision(result.version_id, "ret")),
                },
            ]
        ]
        planned += await notifier.notify(
            session,
            notifier.Recipient.telegram(head.tg_user_id, label=head.name, locale=loc),
            REQUEST,
            payload,
            now=now,
            key=f"v{result.version_id}",
            template="weekly.confirm.title",
            buttons=buttons,
            default_locale=default_locale,
        )
    return planned


def render_request(
    row: OutboxMessage, now: datetime, bot_username: str | None
) -> tuple[str, list[list[dict[str, str]]]]:
    """The head's card in the head's language, with 确认 / 退回."""
    params = row.params or {}
    view = view_from_json(params["view"])
    key, values = params["ask"]
    text = (
        view_html(view, row.locale, title="weekly.confirm.title")
        + "\n\n"
        + catalog.t(key, row.locale, **values)
    )
    buttons = [
        [
            {"text": catalog.plain(b["label"], row.locale), "callback_data": b["data"]}
            for b in spec_row
            if "data" in b
        ]
        for spec_row in row.buttons or []
    ]
    return text, [r for r in buttons if r]


# --- the submitter's notice after a decision ---------------------------------------------------


async def tell_submitter(
    session: AsyncSession, now: datetime, decision: Decision, *, default_locale: str
) -> bool:
    """Plan "confirmed" or "returned, with the reason" to whoever submitted the version."""
    who = decision.submitter
    loc = who.locale or default_locale
    values: dict[str, Any] = {"head": decision.decided_by, "number": decision.number}
    if decision.confirmed:
        outcome = catalog.plain(f"weekly.outcome.{decision.outcome or Outcome.ON_TIME}", loc)
        template, buttons = "weekly.confirm.notify", None
        values["outcome"] = outcome
    else:
        template = "weekly.return.notify"
        values["reason"] = decision.reason or ""
        buttons = [[{"label": "weekly.button.fix", "start": "weekly"}]]
    return await notifier.notify(
        session,
        notifier.Recipient.telegram(who.tg_user_id, label=who.name, locale=loc),
        DECISION,
        values,
        now=now,
        key=f"v{decision.version_id}:{'ok' if decision.confirmed else 'ret'}",
        template=template,
        buttons=buttons,
        default_locale=default_locale,
    )


# What the outbox draws for these notices beyond the catalog template (bot/notifier.py).
RENDERERS = notifier.renderers({(notifier.TELEGRAM, REQUEST): render_request})
