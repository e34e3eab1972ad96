"""One form at a time per person.

Several persistent ConversationHandlers (/report, /weekly, /activity, …) share
group 0, and PTB lets the first one that wants an update have it. Without a
rule, text meant for the form a liaison just opened could land in another form
left half-filled an hour ago. The rule: the form entered last has the floor;
the others keep their drafts and wait until they are entered again.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, ConversationHandler

FLOOR = "_form"  # user_data key: name of the form that has the floor


class ExclusiveForm(ConversationHandler):  # type: ignore[type-arg]
    """A ConversationHandler that yields to the form its user entered last."""

    _floor_app: Application[Any, Any, Any, Any, Any, Any] | None = None

    def bind(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._floor_app = application

    def check_update(self, update: object) -> Any:
        result = super().check_update(update)
        if not result or not isinstance(update, Update) or update.effective_user is None:
            return result
        if result[2] in self.entry_points or self._floor_app is None:
            return result
        owner = self._floor_app.user_data.get(update.effective_user.id, {}).get(FLOOR)
        return None if owner not in (None, self.name) else result

    async def handle_update(self, update: Update, application: Any, check_result: Any, context: Any) -> Any:
        if check_result[2] in self.entry_points and context.user_data is not None:
            context.user_data[FLOOR] = self.name
        return await super().handle_update(update, application, check_result, context)


def bind_forms(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for handlers in application.handlers.values():
        for handler in handlers:
            if isinstance(handler, ExclusiveForm):
                handler.bind(application)
