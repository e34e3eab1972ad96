"""Correcting a lead: ``/edit L0007`` (the field buttons), then a field's new value,
asked by an engine prompt (typed text, a choice, or tags toggled then 完成)."""

from __future__ import annotations

from telegram import Update

from bot.forms.buttons import EditField, EditMenu
from bot.forms.callbacks import encode
from bot.forms.lead_prompts import EDIT
from bot.services import ServiceError, lead_updates
from handlers.base import LeadbotContext, keyboard, reply, requires
from handlers.leads.common import button_value, error, lead_ref, raw_args, stale, usage
from handlers.leads.prompts import open_prompt


async def _edit_menu(update: Update, context: LeadbotContext, lead_id: int) -> None:
    assert context.actor is not None
    try:
        async with context.session() as session:
            menu = await lead_updates.edit_menu(session, context.actor, lead_id)
    except ServiceError as err:
        await error(update, context, err)
        return
    if update.callback_query:
        await update.callback_query.answer()
    buttons = [
        (context.label(f"leads.field.{f}"), encode(EditField(lead_id, i)))
        for i, f in enumerate(menu.fields)
    ]
    await reply(
        update,
        context.t("leads.edit.menu", code=menu.code, project=menu.project),
        keyboard([buttons[i : i + 3] for i in range(0, len(buttons), 3)]),
    )


@requires(private=True)
async def edit_command(update: Update, context: LeadbotContext) -> None:
    args = raw_args(update)
    lead_id = lead_ref(args)
    if lead_id is None:
        await usage(update, context, "edit", args)
        return
    await _edit_menu(update, context, lead_id)


@requires(private=True)
async def edit_menu_button(update: Update, context: LeadbotContext) -> None:
    found: EditMenu | None = button_value(update, EditMenu)
    if found is None:
        await stale(update, context)
        return
    await _edit_menu(update, context, found.lead)


@requires(private=True)
async def edit_field_chosen(update: Update, context: LeadbotContext) -> None:
    """A field button: the prompt checks the edit is allowed, then asks for the value."""
    found: EditField | None = button_value(update, EditField)
    if found is None or found.field >= len(lead_updates.FIELDS):
        await stale(update, context)
        return
    await open_prompt(update, context, EDIT, {"lead": found.lead, "field": found.field}, edit=True)
