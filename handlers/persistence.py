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
from telegram.ext._utils.types import ConversationDict, ConversationKey, CDCData

from bot.clock import Clock
from storage import repo
from storage.db import Database

USER = "user"
CONV = "conv:"


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, db: Database, clock: Clock) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=5,
        )
        self._db = db
        self._clock = clock

    # user data ------------------------------------------------------------
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        async with self._db.session() as session:
            rows = await repo.persisted(session, USER)
        return {int(key): dict(data) for key, data in rows.items()}

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        async with self._db.session() as session:
            if data:
                await repo.persist(session, USER, str(user_id), _jsonable(data), self._clock.now())
            else:
                await repo.unpersist(session, USER, str(user_id))

    async def drop_user_data(self, user_id: int) -> None:
        async with self._db.session() as session:
            await repo.unpersist(session, USER, str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Another instance may have moved the form on: reload before handling."""
        async with self._db.session() as session:
            fresh = await repo.persisted_one(session, USER, str(user_id))
        if fresh is not None:
            user_data.clear()
            user_data.update(fresh)

    # conversations --------------------------------------------------------
    async def get_conversations(self, name: str) -> ConversationDict:
        async with self._db.session() as session:
            rows = await repo.persisted(session, CONV + name)
        return {tuple(json.loads(key)): data["state"] for key, data in rows.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        async with self._db.session() as session:
            if new_state is None:
                await repo.unpersist(session, CONV + name, json.dumps(list(key)))
            else:
                await repo.persist(session, CONV + name, json.dumps(list(key)), {"state": new_state}, self._clock.now())

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


def _jsonable(data: dict[Any, Any]) -> dict[str, Any]:
    """Fail loudly in development if a form stores something that cannot round-trip."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))
