"""The one-question prompts of the lead commands, as engine forms.

A stage note (``/stage`` → a stage button), a rejection reason (``/reject L0007``
or the card's 退回) and a field's new value (``/edit`` → a field) each ask one
question and save right after the answer (``confirm=False``): the service call
of :mod:`bot.services.lead_updates`. They are started with the lead (and stage or
field) as start arguments, which ``begin`` checks with the service before asking.

Like every engine form their draft lives in ``form_drafts`` (an answer typed after
a restart lands), they expire by the injected clock, and a button of an older
prompt is stale (``nonce``). A prompt is opened over whatever the person was doing
(``stacks``): a /report half filled in comes back when the prompt closes. An error
the person can fix by typing something else asks again under the error; any other
refusal ends the prompt with the refusal. docs/forms/lead_prompts.mmd draws them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from bot import catalog
from bot.domain.amounts import format_wan_human
from bot.forms.buttons import LeadCard
from bot.forms.model import Draft, Form, FormContext, Kind, Link, Msg, Option, Step
from bot.services import ServiceError, lead_notices, lead_updates

STAGE, REJECT, EDIT = "lead_stage", "lead_reject", "lead_edit"
FORMS = (STAGE, REJECT, EDIT)

# Errors that mean "type something else": the prompt stays and asks again.
RETRY = (
    "leads.input.",
    "leads.amount.",
    "leads.edit.bad_choice",
    "leads.edit.required",
    "leads.edit.unchanged",
    "leads.edit.company_taken",
    "leads.edit.credit_taken",
    "leads.review.reason_missing",
    "leads.usd_amount.",
)
HINTS = {
    "tags": "tags",
    "industry": "choice",
    "origin": "choice",
    "channel": "choice",
    "amount_wan": "amount",
    "foreign_usd": "usd",
    "contact_phone": "phone",
    "outside_share": "percent",
    "credit_code": "credit",
}


def shown(field: str, value: Any, locale: str) -> str:
    """A lead field's value as the card, the prompts and the edit result show it."""
    if value is None or value == [] or value == "":
        return catalog.plain("leads.card.none", locale)
    if field == "amount_wan":
        return format_wan_human(Decimal(value), locale)
    if field == "foreign_usd":
        return catalog.plain("leads.usd", locale, amount=f"{Decimal(value).normalize():,f}")
    if field == "outside_share":
        return f"{Decimal(value).normalize():f}%"
    if field == "tags":
        return "、".join(value)
    return str(value)


_TAG_SPLIT = re.compile(r"[\s,，、;；/]+")  # as lead_updates.parse_value splits typed tags


def _typed_tags(text: str, ctx: FormContext) -> list[str]:
    """Tags typed instead of toggled (``上市公司、专精特新``); the service checks each."""
    return [w for w in _TAG_SPLIT.split(text) if w]


def _typed(text: str, ctx: FormContext) -> str:
    """The service checks the text (the same rules as /report); the engine keeps it."""
    return text


def _refusal(err: ServiceError) -> Msg:
    return Msg(err.code, err.params)


@asynccontextmanager
async def _undone_on_refusal(ctx: FormContext) -> AsyncIterator[None]:
    """The service call in a savepoint: a refusal undoes what it changed before refusing
    (the prompt's transaction goes on, to keep the draft and ask again)."""
    async with ctx.session.begin_nested():
        yield


def fixable(err: ServiceError) -> bool:
    """A refusal typing something else fixes: the question is asked again under it
    (``Form.ask_again``); any other refusal ends the prompt with the reason."""
    return err.code.startswith(RETRY)


# --- the stage note ------------------------------------------------------------------------


async def _begin_stage(ctx: FormContext, draft: Draft) -> Msg | None:
    stages = ctx.settings.stages
    index = int(draft.scratch.get("stage", -1))
    if not 0 <= index < len(stages):
        return Msg("fallback.stale_button")
    try:
        ref = await lead_updates.check_stage(
            ctx.session, ctx.actor, int(draft.scratch["lead"]), stages[index], ctx.settings
        )
    except ServiceError as err:
        return _refusal(err)
    draft.scratch.update(code=ref.code, project=ref.project, current=ref.stage, to=stages[index])
    return None


def _ask_note(ctx: FormContext, draft: Draft) -> list[Msg]:
    s = draft.scratch
    return [
        Msg(
            "leads.stage.ask_note",
            {"code": s["code"], "project": s["project"], "current": s["current"], "stage": s["to"]},
        )
    ]


def stage_lines(change: lead_updates.StageChange) -> list[Msg]:
    """What a stage move says (the prompt's answer and ``/stage L0007 签约 …`` alike)."""
    lines = [
        Msg(
            "leads.stage.moved",
            {
                "code": change.code,
                "project": change.project,
                "current": change.from_stage,
                "stage": change.to_stage,
            },
        )
    ]
    if change.skipped:
        lines.append(Msg("leads.stage.skipped", {"stages": "、".join(change.skipped)}))
    if change.backwards:
        lines.append(Msg("leads.stage.was_backwards"))
    if change.note:
        lines.append(Msg("leads.stage.note", {"note": change.note}))
    return lines


async def _save_stage(ctx: FormContext, draft: Draft) -> list[Msg]:
    async with _undone_on_refusal(ctx):
        change = await lead_updates.move_stage(
            ctx.session,
            ctx.now,
            ctx.actor,
            int(draft.scratch["lead"]),
            str(draft.scratch["to"]),
            draft.values.get("note"),
            ctx.settings,
        )
    return stage_lines(change)


# --- the rejection reason ----------------------------------------------------------------------


async def _begin_reject(ctx: FormContext, draft: Draft) -> Msg | None:
    try:
        ref = await lead_updates.check_reject(ctx.session, ctx.actor, int(draft.scratch["lead"]))
    except ServiceError as err:
        return _refusal(err)
    draft.scratch.update(code=ref.code, project=ref.project)
    return None


def _ask_reason(ctx: FormContext, draft: Draft) -> list[Msg]:
    s = draft.scratch
    return [Msg("leads.review.ask_reason", {"code": s["code"], "project": s["project"]})]


def review_lines(result: lead_updates.ReviewResult) -> list[Msg]:
    """What the reviewer is told about a verdict (the delivery count follows it)."""
    if result.review == "verified":
        lines = [
            Msg(
                "leads.review.verified",
                {"code": result.code, "project": result.project, "unit": result.unit_name},
            )
        ]
        if result.duplicate_of:
            lines.append(Msg("leads.review.now_duplicate", {"first": result.duplicate_of}))
        return lines
    lines = [
        Msg(
            "leads.review.rejected",
            {"code": result.code, "project": result.project, "reason": result.note or ""},
        )
    ]
    if result.released:
        lines.append(Msg("leads.review.released"))
    return lines


async def _save_reject(ctx: FormContext, draft: Draft) -> list[Msg]:
    async with _undone_on_refusal(ctx):
        result = await lead_updates.reject_lead(
            ctx.session,
            ctx.now,
            ctx.actor,
            int(draft.scratch["lead"]),
            draft.values.get("reason"),
            setup=ctx.services.scoring,
        )
    await lead_notices.plan_review(
        ctx.session,
        result,
        now=ctx.now,
        key=ctx.key or f"prompt:{draft.scratch.get('_nonce', '')}",
        default_locale=ctx.settings.locale,
    )
    return review_lines(result)


# --- a field's new value -----------------------------------------------------------------------------


async def _begin_edit(ctx: FormContext, draft: Draft) -> Msg | None:
    index = int(draft.scratch.get("field", -1))
    if not 0 <= index < len(lead_updates.FIELDS):
        return Msg("fallback.stale_button")
    field = lead_updates.FIELDS[index]
    try:
        found = await lead_updates.start_edit(
            ctx.session, ctx.actor, int(draft.scratch["lead"]), field, ctx.settings
        )
    except ServiceError as err:
        return _refusal(err)
    kind = "tags" if field == "tags" else "choice" if field in lead_updates.CHOICES else "text"
    if kind != "tags" and found.optional:
        kind += "_opt"
    draft.scratch.update(
        lead=found.lead_id,
        code=found.code,
        name=field,
        kind=kind,
        current=shown(field, found.current, ctx.locale),
        options=list(found.options),
    )
    if field == "tags":
        draft.values["value"] = list(found.current or [])
    return None


def _ask_value(ctx: FormContext, draft: Draft) -> list[Msg]:
    s = draft.scratch
    return [
        Msg(
            "leads.edit.ask",
            {"code": s["code"], "field": Msg(f"leads.field.{s['name']}"), "current": s["current"]},
        ),
        Msg(f"leads.edit.hint.{HINTS.get(s['name'], 'text')}"),
    ]


def _options(ctx: FormContext, draft: Draft) -> list[Option]:
    return [Option(str(i), name, name) for i, name in enumerate(draft.scratch.get("options", []))]


async def _save_edit(ctx: FormContext, draft: Draft) -> list[Msg]:
    field = str(draft.scratch["name"])
    try:
        async with _undone_on_refusal(ctx):
            result = await lead_updates.edit_lead(
                ctx.session,
                ctx.now,
                ctx.actor,
                int(draft.scratch["lead"]),
                field,
                draft.values.get("value"),
                ctx.settings,
            )
    except ServiceError as err:
        if field == "foreign_usd" and err.code.startswith("leads.amount."):  # dollar examples
            raise ServiceError(
                f"leads.usd_amount.{err.code.removeprefix('leads.amount.')}", **err.params
            ) from err
        raise
    return [
        Msg(
            "leads.edit.done",
            {
                "code": result.code,
                "field": Msg(f"leads.field.{result.field}"),
                "old": shown(result.field, result.old, ctx.locale),
                "new": shown(result.field, result.new, ctx.locale),
            },
        )
    ]


def _card(ctx: FormContext, draft: Draft) -> list[Link]:
    """查看线索 under the result, as the lead commands answer."""
    return [Link(Msg("leads.button.view"), LeadCard(int(draft.scratch["lead"])))]


def _kind(*kinds: str) -> Any:
    return lambda draft: draft.scratch.get("kind") in kinds


def _prompt(name: str, prefix: str, steps: tuple[Step, ...], begin: Any, save: Any) -> Form:
    return Form(
        name=name,
        prefix=prefix,
        texts=f"leadprompts.{name.removeprefix('lead_')}",
        steps=steps,
        begin=begin,
        save=save,
        confirm=False,
        cancel_button=True,
        nonce=True,
        stacks=True,
        links=_card,
        ask_again=fixable,
    )


def forms() -> list[Form]:
    """The three prompts (buttons ``np``/``ns``, ``jp``/``js``, ``vp``/``vs``)."""
    value = "value"
    return [
        _prompt(
            STAGE,
            "n",
            (Step("note", parse=_typed, optional=True, ask=_ask_note),),
            _begin_stage,
            _save_stage,
        ),
        _prompt(
            REJECT,
            "j",
            (Step("reason", parse=_typed, ask=_ask_reason),),
            _begin_reject,
            _save_reject,
        ),
        _prompt(
            EDIT,
            "v",
            (
                Step("text", parse=_typed, field=value, ask=_ask_value, when=_kind("text")),
                Step(
                    "text_opt",
                    parse=_typed,
                    field=value,
                    optional=True,
                    ask=_ask_value,
                    when=_kind("text_opt"),
                ),
                Step(
                    "choice",
                    Kind.CHOICE,
                    choices=_options,
                    field=value,
                    ask=_ask_value,
                    when=_kind("choice"),
                ),
                Step(
                    "choice_opt",
                    Kind.CHOICE,
                    choices=_options,
                    field=value,
                    optional=True,
                    ask=_ask_value,
                    when=_kind("choice_opt"),
                ),
                Step(
                    "tags",
                    Kind.MULTI,
                    parse=_typed_tags,
                    choices=_options,
                    field=value,
                    optional=True,
                    ask=_ask_value,
                    when=_kind("tags"),
                ),
            ),
            _begin_edit,
            _save_edit,
        ),
    ]
