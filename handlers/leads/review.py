"""Leaders' verdicts on a lead: ``/verify``, ``/reject`` (with the reason, or asked for
it by an engine prompt), the card's 核实 / 退回 buttons, and ``/confirm`` (逐节点认定).

The unit's members hear a verdict through the notifier: the notices are planned in
the verdict's own transaction, keyed by the update (handled twice, planned once),
sent by the outbox right after, and the reviewer is told how many arrived.
"""

from __future__ import annotations

from telegram import Update

from bot.catalog import Html
from bot.forms.buttons import ConfirmNode, RejectLead, VerifyLead
from bot.forms.callbacks import decode
from bot.forms.lead_prompts import REJECT, review_lines
from bot.services import ServiceError, lead_notices, lead_updates
from handlers import notices
from handlers.base import LeadbotContext, reply, requires
from handlers.leads.common import error, lead_ref, lines, raw_args, stale, usage, view_button
from handlers.leads.prompts import delivered, delivery_text, open_prompt


async def _review(
    update: Update, context: LeadbotContext, lead_id: int, reason: str | None
) -> None:
    """Verify (``reason`` None) or reject with the reason; notices in the same transaction."""
    assert context.actor is not None
    key, setup = notices.key_of(update), context.services.scoring
    try:
        async with context.session() as session:
            if reason is None:
                result = await lead_updates.verify_lead(
                    session, context.now(), context.actor, lead_id, setup=setup
                )
            else:
                result = await lead_updates.reject_lead(
                    session, context.now(), context.actor, lead_id, reason, setup=setup
                )
            await lead_notices.plan_review(
                session,
                result,
                now=context.now(),
                key=key,
                default_locale=context.services.settings.locale,
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    text = lines(context, review_lines(result))
    done = await delivered(context, key)
    if done is not None:
        text = Html(text + "\n" + delivery_text(context, done))
    await reply(update, text, view_button(context, result.lead_id))


async def _reject(update: Update, context: LeadbotContext, lead_id: int, reason: str) -> None:
    """With a reason: reject now. Without: ask for it (an engine prompt: survives restarts)."""
    if reason:
        await _review(update, context, lead_id, reason)
        return
    await open_prompt(update, context, REJECT, {"lead": lead_id}, edit=False)


@requires(private=True)
async def verify_command(update: Update, context: LeadbotContext) -> None:
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "verify", args)
        return
    await _review(update, context, lead_id, None)


@requires(private=True)
async def reject_command(update: Update, context: LeadbotContext) -> None:
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "reject", args)
        return
    parts = args.split(None, 1)
    await _reject(update, context, lead_id, parts[1] if len(parts) > 1 else "")


@requires(private=True)
async def review_button(update: Update, context: LeadbotContext) -> None:
    pressed = decode(update.callback_query.data if update.callback_query else None)
    if isinstance(pressed, VerifyLead):
        await _review(update, context, pressed.lead, None)
    elif isinstance(pressed, RejectLead):
        await _reject(update, context, pressed.lead, "")
    else:
        await stale(update, context)


async def _confirm(
    update: Update, context: LeadbotContext, lead_id: int, stage: str | None
) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            done = await lead_updates.confirm_node(
                session, context.now(), context.actor, lead_id, stage, context.services.settings
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    await reply(
        update,
        context.t("leads.confirm.done", lead=done.code, project=done.project, stage=done.stage),
    )


@requires(private=True)
async def confirm_command(update: Update, context: LeadbotContext) -> None:
    """``/confirm L0007 [在谈]``: a leader confirms a stage node (逐节点认定)."""
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "confirm", args)
        return
    parts = args.split(None, 1)
    await _confirm(update, context, lead_id, parts[1].strip() if len(parts) > 1 else None)


@requires(private=True)
async def confirm_button(update: Update, context: LeadbotContext) -> None:
    query = update.callback_query
    pressed = decode(query.data if query else None)
    if query is None or not isinstance(pressed, ConfirmNode):
        await stale(update, context)
        return
    await _confirm(update, context, pressed.lead, None)
