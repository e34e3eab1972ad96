"""Moving a lead along its stages: ``/stage L0007`` (the stage buttons), a stage button
(then the optional note, an engine prompt), and ``/stage L0007 签约 备注…`` at once."""

from __future__ import annotations

from telegram import Update

from bot.catalog import Html
from bot.forms.buttons import StageChosen, StageMenu
from bot.forms.callbacks import encode
from bot.forms.lead_prompts import STAGE, stage_lines
from bot.services import ServiceError, lead_updates
from bot.services.lead_updates import StageChange
from handlers.base import LeadbotContext, keyboard, reply, requires
from handlers.leads.common import (
    button_value,
    error,
    lead_ref,
    lines,
    raw_args,
    stale,
    usage,
    view_button,
)
from handlers.leads.prompts import open_prompt


def render_stage_change(context: LeadbotContext, change: StageChange) -> Html:
    return lines(context, stage_lines(change))


async def _stage_menu(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    settings = context.services.settings
    try:
        async with context.session() as session:
            menu = await lead_updates.stage_menu(session, context.actor, lead_id, settings)
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    text = context.t("leads.stage.menu", code=menu.code, project=menu.project, current=menu.current)
    if menu.backwards_need_leader:
        text = Html(text + "\n" + context.t("leads.stage.backwards_hint"))
    buttons = [
        (stage, encode(StageChosen(lead_id, settings.stages.index(stage))))
        for stage in menu.choices
    ]
    if not buttons:
        await reply(update, Html(text + "\n" + context.t("leads.stage.last")))
        return
    await reply(update, text, keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]))


async def _move_now(
    update: Update, context: LeadbotContext, lead_id: int, stage: str, note: str | None
) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            change = await lead_updates.move_stage(
                session,
                context.now(),
                context.actor,
                lead_id,
                stage,
                note,
                context.services.settings,
            )
    except ServiceError as err:
        await error(update, context, err)
        return
    await reply(update, render_stage_change(context, change), view_button(context, lead_id))


@requires(private=True)
async def stage_command(update: Update, context: LeadbotContext) -> None:
    """``/stage L0007`` shows the stages; ``/stage L0007 签约 备注…`` moves at once."""
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "stage", args)
        return
    words = args.split(None, 2)
    if len(words) == 1:
        await _stage_menu(update, context, lead_id)
        return
    await _move_now(update, context, lead_id, words[1], words[2] if len(words) > 2 else None)


@requires(private=True)
async def stage_menu_button(update: Update, context: LeadbotContext) -> None:
    found: StageMenu | None = button_value(update, StageMenu)
    if found is None:
        await stale(update, context)
        return
    await _stage_menu(update, context, found.lead)


@requires(private=True)
async def stage_chosen(update: Update, context: LeadbotContext) -> None:
    """A stage button: the prompt checks the move now, then asks for the optional note."""
    found: StageChosen | None = button_value(update, StageChosen)
    if found is None or found.stage >= len(context.services.settings.stages):
        await stale(update, context)
        return
    await open_prompt(update, context, STAGE, {"lead": found.lead, "stage": found.stage}, edit=True)
