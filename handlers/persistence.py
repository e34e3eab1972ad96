"""python-telegram-bot persistence in our database (forms in progress).

A half-filled form must survive a restart and be continued by any instance, so
user data and conversation states live in the ``persisted_data`` table, written
after every update (see ``LeadbotApplication.process_update``), not in a pickle.
Everything stored must be JSON: forms keep plain values only.
"""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.clock import Clock
from storage import repo
from storage.db import Database

USER = "user"
CONV = "conv:"


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=5,
        )
        self._db = db
        self._clock = clock
        # What the database holds for each user, as last read or written: PTB asks
        # to store every user touched by an update, and most updates change nothing.
        self._stored: dict[int, str] = {}

    # user data ------------------------------------------------------------
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        async with self._db.session() as session:
            rows = await repo.persisted(session, USER)
        self._stored = {int(key): _canonical(data) for key, data in rows.items()}
        return {int(key): dict(data) for key, data in rows.items()}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        text = _canonical(data) if data else ""
        if self._stored.get(user_id, "") == text:
            return  # unchanged: no write on the hot path
        async with self._db.session() as session:
            if data:
                await repo.persist(session, USER, str(user_id), json.loads(text), self._clock.now())
            else:
                await repo.unpersist(session, USER, str(user_id))
        self._stored[user_id] = text

    async def drop_user_data(self, user_id: int) -> None:
        async with self._db.session() as session:
            await repo.unpersist(session, USER, str(user_id))
        self._stored.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Another instance may have moved the form on: reload before handling.

        Only PostgreSQL is shared by several instances; a SQLite file has one
        process, whose memory is already what the database holds.
        """
        if self._db.is_sqlite:
            return
        async with self._db.session() as session:
            fresh = await repo.persisted_one(session, USER, str(user_id))
        self._stored[user_id] = _canonical(fresh) if fresh else ""
        user_data.clear()
        if fresh:
            user_data.update(fresh)

    # conversations --------------------------------------------------------
    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._db.session() as session:
            rows = await repo.persisted(session, CONV + name)
        return {tuple(json.loads(key)): data["state"] for key, data in rows.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        async with self._db.session() as session:
            if new_state is None:
                await repo.unpersist(session, CONV + name, json.dumps(list(key)))
            else:
                await repo.persist(
                    session,
                    CONV + name,
                    json.dumps(list(key)),
                    {"state": new_state},
                    self._clock.now(),
                )

    # not stored -----------------------------------------------------------
    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def flush(self) -> None:
        return None


def _canonical(data: dict[Any, Any]) -> str:
    """One text per content, to tell "unchanged" cheaply; values JSON can't hold become text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
