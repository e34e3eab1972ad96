"""The head's return reason as data: one question on the form engine (docs/forms/return.mmd).

Started by the weekly adapter when a head presses ↩️ 退回 on a card, with the version in
the draft's scratch; ``begin`` checks the head and that the version still waits. The
answer saves at once (``autosave``): :func:`bot.services.weekly.decide` returns the
version and the submitter's notice is planned through the notifier, in one transaction.
"""

from __future__ import annotations

from bot.domain.enums import VersionStatus
from bot.forms.model import Draft, FieldError, Form, FormContext, Msg, Step
from bot.forms.weekly import config
from bot.services import ServiceError
from bot.services import weekly as wk

RETURN = "weekly_return"


async def _begin_return(ctx: FormContext, draft: Draft) -> Msg | None:
    """Only the unit's head, only a version still waiting (the button may be old)."""
    version = int(draft.scratch.get("version") or 0)
    try:
        view, status = await wk.review_card(ctx.session, ctx.now, config(ctx), ctx.actor, version)
    except ServiceError as err:
        return Msg(err.code, err.params)
    if status != VersionStatus.SUBMITTED:
        return Msg(f"weekly.confirm.already_{status}", {"number": view.number})
    draft.scratch.update(name=view.submitted_by, number=view.number)
    return None


def _ask_reason(ctx: FormContext, draft: Draft) -> list[Msg]:
    return [
        Msg(
            "weekly.return.ask",
            {"name": draft.scratch.get("name", ""), "number": draft.scratch.get("number", 0)},
        )
    ]


def _reason(text: str, ctx: FormContext) -> str:
    try:
        return wk.clean_text(text, wk.REASON_MAX)
    except ServiceError as err:
        raise FieldError(err.code, **err.params) from err


async def _save_return(ctx: FormContext, draft: Draft) -> list[Msg]:
    """退回: the version is returned and the submitter told, in one transaction. A version
    decided meanwhile (another head, the late window closed) ends the form with why."""
    try:
        decision = await wk.decide(
            ctx.session,
            ctx.now,
            config(ctx),
            ctx.actor,
            int(draft.scratch.get("version") or 0),
            confirm=False,
            reason=str(draft.values.get("reason") or ""),
        )
    except ServiceError as err:
        return [Msg(err.code, err.params)]
    await wk.tell_submitter(ctx.session, ctx.now, decision, default_locale=ctx.settings.locale)
    return [Msg("weekly.return.done", {"name": decision.submitter.name, "number": decision.number})]


def form() -> Form:
    return Form(
        name=RETURN,
        prefix="x",
        steps=(Step("reason", parse=_reason, ask=_ask_reason, counted=False),),
        save=_save_return,
        begin=_begin_return,
        texts="weeklyreturn",
        autosave=True,
    )
