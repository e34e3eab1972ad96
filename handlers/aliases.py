"""Chinese aliases on Telegram: a private message that is exactly ``周报`` runs ``/weekly``.

The words are the one table of :data:`bot.assembly.commands.ALIASES` that DingTalk reads
too. An open form is asked first (``handlers.forms.EngineForms``, which runs before group
0): when it awaits a typed answer, ``状态`` is that answer and no command runs — an alias
never steals an answer. With no form open, an alias of a form's command (报送线索, 周报,
活动) opens the form there, and every other alias reaches :class:`AliasCommands` here, in
group 0 after the commands and before the fallbacks, which calls the command's own
handler with no arguments — the same ``@requires`` checks, the same words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, BaseHandler, CommandHandler

from bot.assembly.commands import ALIASES
from handlers.base import LeadbotContext

__all__ = ["AliasCommands", "alias_of_text"]


def alias_of_text(text: str | None) -> str | None:
    """The command a message that is exactly an alias runs (``" 周报 "`` → ``weekly``)."""
    return ALIASES.get((text or "").strip())


class AliasCommands(BaseHandler[Update, LeadbotContext, None]):
    """Runs the :class:`CommandHandler` of the command an alias names."""

    def __init__(self, handlers: Iterable[object]) -> None:
        super().__init__(self._handle)
        self.commands: dict[str, CommandHandler[Any, Any]] = {}
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                for name in handler.commands:
                    self.commands.setdefault(name, handler)

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.message is None:
            return False
        if update.message.chat.type != ChatType.PRIVATE:
            return False
        return alias_of_text(update.message.text) in self.commands

    def collect_additional_context(
        self,
        context: LeadbotContext,
        update: Update,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: Any,
    ) -> None:
        context.args = []  # exactly the alias: the command without arguments

    async def _handle(self, update: Update, context: LeadbotContext) -> None:
        assert update.message is not None
        name = alias_of_text(update.message.text)
        assert name is not None
        await self.commands[name].callback(update, context)
