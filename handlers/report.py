"""``/report``: the guided lead form, one question at a time, from a phone.

The form itself is data in :mod:`bot.forms.report`, run by the form engine;
:class:`handlers.forms.EngineForms` renders its steps and feeds the answers
back. Here only what is Telegram's own: ``/report`` in a group opens the
private chat at the form.
"""

from __future__ import annotations

from telegram.ext import CommandHandler, filters

from bot.forms.report import NAME
from handlers.forms import redirect_to_private

KEY = NAME


def handlers() -> list:
    return [CommandHandler("report", redirect_to_private(KEY), filters=filters.ChatType.GROUPS)]
