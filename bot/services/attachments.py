"""A lead's files from the web page: kept in the database, since a browser has no file store.

In chat a file is the platform's file id (``{"file_id", "kind", "name"}`` in
``Lead.attachments``); a file uploaded on ``/app/report`` is kept in ``web_files`` and
listed the same way with ``file_id`` ``"web:<token>"``, so the card's count, the export
and the chat's 重新接收附件 button see one list. The token is 128 random bits, but reading
a file still asks who may see the lead's details: a token that leaked opens nothing.
"""

from __future__ import annotations

import mimetypes
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import activity_code
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.leads import can_see_full
from storage import web_files
from storage.models import Activity, Lead

REF_PREFIX = "web:"
MAX_BYTES = 20 * 1024 * 1024  # what a chat bot may download, so a re-send in chat works too
MAX_NAME = 120
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
FALLBACK_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class StoredFile:
    token: str
    name: str
    size: int
    kind: str  # "photo" or "document", as the chat's file step says


@dataclass(frozen=True)
class FileContent:
    name: str
    content_type: str
    data: bytes

    @property
    def is_photo(self) -> bool:
        return self.content_type in PHOTO_TYPES


def clean_name(raw: str) -> str:
    """A file name that is safe in a header, a page and a zip: no path, no control chars."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > MAX_NAME:
        _, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = name[: MAX_NAME - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or "file"


def content_type_of(name: str, declared: str) -> str:
    """The type we serve the file as: from its name, never trusting an HTML upload as HTML."""
    guessed = mimetypes.guess_type(name)[0] or declared.split(";")[0].strip().lower()
    if not guessed or "html" in guessed or "xml" in guessed or "javascript" in guessed:
        return FALLBACK_TYPE
    return guessed[:100]


MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF8", "image/gif", ".gif"),
)


def sniffed(name: str, content_type: str, data: bytes) -> tuple[str, str]:
    """A picture sent without a usable name (DingTalk's 图片 messages have none) is still a
    picture: known image signatures give the type, and the name its extension."""
    if content_type != FALLBACK_TYPE:
        return name, content_type
    for magic, kind, ext in MAGIC:
        if data.startswith(magic):
            return (name if name.lower().endswith(ext) else name + ext), kind
    return name, content_type


def kind_of(content_type: str) -> str:
    return "photo" if content_type in PHOTO_TYPES else "document"


async def store(
    session: AsyncSession,
    uploader: str,
    raw_name: str,
    declared_type: str,
    data: bytes,
    now: datetime,
) -> StoredFile:
    if not data:
        raise ServiceError("attach.empty")
    if len(data) > MAX_BYTES:
        raise ServiceError("attach.too_big", mb=MAX_BYTES // (1024 * 1024))
    cleaned = clean_name(raw_name)
    name, content_type = sniffed(cleaned, content_type_of(cleaned, declared_type), data)
    token = secrets.token_hex(16)
    await web_files.add(
        session,
        token=token,
        uploader=uploader,
        name=name,
        content_type=content_type,
        data=data,
        now=now,
    )
    return StoredFile(token, name, len(data), kind_of(content_type))


async def claim(
    session: AsyncSession, uploader: str, tokens: list[str], limit: int
) -> list[dict[str, Any]]:
    """The attachment entries for a save: this person's unsaved uploads, at most ``limit``.

    Anything else in the form is ignored rather than refused, as a stale page may carry a
    token already saved, and a forged one may carry someone else's.
    """
    rows = list(await web_files.unsaved_of(session, uploader, tokens))[:limit]
    return [
        {"file_id": REF_PREFIX + token, "kind": kind_of(ctype), "name": name}
        for _, token, name, ctype in rows
    ]


async def link_own(
    session: AsyncSession,
    uploader: str,
    entries: list[dict[str, Any]],
    lead_id: int | None = None,
    *,
    activity_id: int | None = None,
) -> None:
    """Give the saved lead (or activity) the stored files among its entries, in its transaction.

    Only the uploader's own unsaved rows are linked, whichever channel stored them (a
    browser upload, a file sent to the DingTalk robot); chat file ids are not rows.
    """
    tokens = [t for t in (token_of(str(e.get("file_id") or "")) for e in entries) if t]
    rows = await web_files.unsaved_of(session, uploader, tokens)
    ids = [row[0] for row in rows]
    await web_files.link(session, ids, lead_id=lead_id, activity_id=activity_id)


async def unsaved_count(session: AsyncSession, uploader: str) -> int:
    return await web_files.unsaved_count(session, uploader)


@dataclass(frozen=True)
class AttachedFile:
    """One entry of a lead's or an activity's attachments: a chat file id or a ``web:`` ref."""

    file_id: str
    kind: str  # "photo" or "document"
    name: str


def attached(items: list[Any] | None) -> tuple[AttachedFile, ...]:
    """The usable entries of a stored attachments list (JSON written by every channel)."""
    files = []
    for item in items or []:
        if isinstance(item, dict) and item.get("file_id"):
            kind = "photo" if (item.get("kind") or item.get("type")) == "photo" else "document"
            name = str(item.get("name") or item.get("file_name") or "")
            files.append(AttachedFile(str(item["file_id"]), kind, name))
    return tuple(files)


def token_of(file_id: str) -> str | None:
    """The web file behind an attachment entry, or None for a chat file id."""
    return file_id[len(REF_PREFIX) :] if file_id.startswith(REF_PREFIX) else None


async def read(session: AsyncSession, actor: Actor, token: str) -> FileContent:
    """A saved file's bytes, for someone allowed to see its lead's details (an activity's:
    a leader or the activity's unit)."""
    row = await web_files.by_token(session, token) if len(token) == 32 else None
    if row is not None and row.activity_id is not None:
        activity = await session.get(Activity, row.activity_id)
        if activity is None:
            raise ServiceError("attach.not_found")
        if not (actor.is_leader or actor.unit_id == activity.unit_id):
            raise ServiceError("activity.not_yours", ref=activity_code(activity.id))
        return FileContent(row.name, row.content_type, row.data)
    if row is None or row.lead_id is None:
        raise ServiceError("attach.not_found")
    lead = await session.get(Lead, row.lead_id)
    if lead is None:
        raise ServiceError("attach.not_found")
    if not can_see_full(actor, lead):
        raise ServiceError("leads.files.denied")
    return FileContent(row.name, row.content_type, row.data)
