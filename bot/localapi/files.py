"""Files: uploads (size limits, real image dimensions for photos), file ids, getFile and
the download endpoint.
"""

from __future__ import annotations

import mimetypes
import re
import struct
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

from bot.localapi.messages import _Messages
from bot.localapi.params import _get_str, _json_response
from bot.localapi.records import (
    MAX_DOWNLOAD_BYTES,
    MAX_UPLOAD_BYTES,
    ApiError,
    Params,
    _bad_request,
    _StoredFile,
    _Upload,
)


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Dimensions of a PNG/GIF/JPEG/WebP, or None: Telegram refuses non-image photos."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    return None


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        (segment,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + segment
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        b = data[21:25]
        width = 1 + (((b[1] & 0x3F) << 8) | b[0])
        height = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return width, height
    return None


class _Files(_Messages):
    """Stored files, uploads, sendDocument/sendPhoto, getFile and downloads."""

    def file_bytes(self, file_id: str) -> bytes:
        """Content of any stored file; KeyError if the id is unknown."""
        try:
            return self._files[file_id].data
        except KeyError:
            raise KeyError(f"unknown file_id {file_id!r}") from None

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(401, ApiError(401, "Unauthorized").body())
        file_id = self._file_paths.get(request.match_info["path"])
        if file_id is None:
            return _json_response(404, ApiError(404, "Not Found").body())
        stored = self._files[file_id]
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    def _store_file(
        self, kind: str, data: bytes, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        self._file_counter += 1
        number = self._file_counter
        prefix = "BQACAgIAAxk" if kind == "document" else "AgACAgIAAxk"
        suffix = PurePosixPath(file_name).suffix.lower() if file_name else ".jpg"
        if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
            suffix = ""
        folder = "documents" if kind == "document" else "photos"
        if kind == "document" and (not mime_type or mime_type == "application/octet-stream"):
            mime_type = mimetypes.guess_type(file_name or "")[0] or mime_type
        stored = _StoredFile(
            file_id=f"{prefix}{number:08d}{self.bot_id}",
            file_unique_id=f"AgAD{number:08d}",
            kind=kind,
            data=bytes(data),
            file_path=f"{folder}/file_{number}{suffix}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._file_paths[stored.file_path] = stored.file_id
        return stored

    def _input_file(self, params: Params, uploads: dict[str, _Upload], kind: str) -> _StoredFile:
        """Resolve an uploaded file, an attach:// reference or an existing file_id."""
        upload = uploads.get(kind)
        value = params.get(kind)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            return self._accept_upload(kind, upload)
        if not isinstance(value, str) or not value:
            raise _bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            raise _bad_request("failed to get HTTP URL content")
        stored = self._files.get(value)
        if stored is None:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad_request("type of file mismatch")
        return stored

    def _accept_upload(self, kind: str, upload: _Upload) -> _StoredFile:
        if not upload.data:
            raise _bad_request("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if (
                width <= 0
                or height <= 0
                or width + height > 10000
                or max(width, height) > 20 * min(width, height)
            ):
                raise _bad_request("PHOTO_INVALID_DIMENSIONS")
            stored = self._store_file("photo", upload.data, None, "image/jpeg")
            stored.width, stored.height = width, height
            return stored
        return self._store_file("document", upload.data, upload.file_name, upload.mime_type)

    async def _send_document(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parse_mode, plain, entities = self._caption(params)

        def content() -> dict[str, Any]:
            stored = self._input_file(params, uploads, "document")
            return {
                "document": stored.as_document(),
                "caption": plain,
                "caption_entities": entities,
            }

        return self._post(params, chat, content, params.get("caption"), parse_mode)

    async def _send_photo(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        chat = self._writable_chat(params)
        parse_mode, plain, entities = self._caption(params)

        def content() -> dict[str, Any]:
            stored = self._input_file(params, uploads, "photo")
            return {"photo": stored.as_photo(), "caption": plain, "caption_entities": entities}

        return self._post(params, chat, content, params.get("caption"), parse_mode)

    async def _get_file(self, params: Params, uploads: dict[str, _Upload]) -> dict[str, Any]:
        stored = self._files.get(_get_str(params, "file_id") or "")
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
