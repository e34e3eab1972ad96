"""What the web app tells other people: the heads after a submission, the submitter after a
decision. Planned with the notifier in the page's own transaction (bot/notifier.py), so a
crash after the page answered loses nothing and a resubmitted form plans nothing twice;
the outbox sends them (at once when it can, else on the scheduler's next tick)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog, notifier
from bot.domain.enums import Outcome
from bot.forms.buttons import WeeklyDecision
from bot.forms.callbacks import encode
from bot.services import weekly as wk


async def ask_heads(
    session: AsyncSession, result: wk.SubmitResult, now: datetime, default_locale: str
) -> None:
    """Each head gets the submission's outline with 确认 / 退回 / 查看 (the chat's own buttons)."""
    if result.status != "submitted":
        return
    for head in result.heads:
        loc = head.locale or default_locale
        await notifier.notify(
            session,
            notifier.Recipient.telegram(head.tg_user_id, head.name, loc),
            "weekly.confirm_request",
            {
                "unit": result.view.unit_name,
                "number": result.number,
                "by": result.view.submitted_by,
                "period": wk.period_label(result.view.period_key, loc),
                "deadline": wk.when_text(result.info.deadline, loc),
            },
            now=now,
            key=f"v{result.version_id}",
            template="web.weekly.head_request",
            buttons=[
                [
                    {
                        "label": "weekly.button.confirm",
                        "data": encode(WeeklyDecision(result.version_id, "ok")),
                    },
                    {
                        "label": "weekly.button.return",
                        "data": encode(WeeklyDecision(result.version_id, "ret")),
                    },
                    {
                        "label": "web.weekly.show",
                        "data": encode(WeeklyDecision(result.version_id, "show")),
                    },
                ]
            ],
            default_locale=default_locale,
        )


async def tell_submitter(
    session: AsyncSession, decision: wk.Decision, now: datetime, default_locale: str
) -> None:
    """The submitter hears the head's decision, as from the chat's 确认 / 退回."""
    loc = decision.submitter.locale or default_locale
    values: dict[str, object] = {"head": decision.decided_by, "number": decision.number}
    if decision.confirmed:
        template, buttons = "weekly.confirm.notify", None
        values["outcome"] = catalog.plain(
            f"weekly.outcome.{decision.outcome or Outcome.ON_TIME}", loc
        )
    else:
        template, buttons = (
            "weekly.return.notify",
            [[{"label": "weekly.button.fix", "start": "weekly"}]],
        )
        values["reason"] = decision.reason or ""
    await notifier.notify(
        session,
        notifier.Recipient.telegram(decision.submitter.tg_user_id, decision.submitter.name, loc),
        "weekly.decision",
        values,
        now=now,
        key=f"web:v{decision.version_id}:{'ok' if decision.confirmed else 'ret'}",
        template=template,
        buttons=buttons,
        default_locale=default_locale,
    )
