"""Leads after the report: /leads, /lead, /stage, /verify, /reject, /confirm, /edit.

``browse`` lists leads and shows the card, ``stage`` moves a lead along its stages,
``review`` holds the leaders' verdicts (and the notices to the unit), ``edit`` the
corrections. Each one-question prompt (a stage note, a rejection reason, a field's
new value) is an engine form (:mod:`bot.forms.lead_prompts`): its draft is in
``form_drafts``, its answers and buttons go through ``handlers.forms.EngineForms``;
``prompts`` opens one and tells a reviewer how many members heard the verdict.
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.leads import browse, edit, review, stage
from handlers.leads.browse import card_keyboard, render_card, render_list
from handlers.leads.prompts import review_delivered
from handlers.leads.stage import render_stage_change

__all__ = [
    "card_keyboard",
    "handlers",
    "render_card",
    "render_list",
    "render_stage_change",
    "review_delivered",
]


def handlers() -> list[BaseHandler]:
    """Group 0, before the fallbacks."""
    return [
        CommandHandler("leads", browse.leads_command),
        CommandHandler("lead", browse.lead_command),
        CommandHandler("stage", stage.stage_command),
        CommandHandler("verify", review.verify_command),
        CommandHandler("reject", review.reject_command),
        CommandHandler("confirm", review.confirm_command),
        CommandHandler("edit", edit.edit_command),
        MessageHandler(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE
            & filters.Regex(r"^\s*[Ll]\d{1,9}\s*$"),
            browse.lead_by_code,
        ),
        CallbackQueryHandler(browse.list_page, pattern=r"^lb:ls:"),
        CallbackQueryHandler(browse.card_button, pattern=r"^lb:c:"),
        CallbackQueryHandler(browse.files_button, pattern=r"^lb:f:"),
        CallbackQueryHandler(stage.stage_menu_button, pattern=r"^lb:sm:"),
        CallbackQueryHandler(stage.stage_chosen, pattern=r"^lb:sg:"),
        CallbackQueryHandler(review.review_button, pattern=r"^lb:[vr]:"),
        CallbackQueryHandler(review.confirm_button, pattern=r"^lb:cf:"),
        CallbackQueryHandler(edit.edit_menu_button, pattern=r"^lb:em:"),
        CallbackQueryHandler(edit.edit_field_chosen, pattern=r"^lb:ef:"),
    ]
