"""One process per SQLite file: ``leadbot run`` / ``webhook`` hold an exclusive lock on
``<database file>.lock`` while they run (the inbox and the outbox rely on it)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from bot.assembly.config import ConfigError


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1] if ":///" in url else ""
    if not path or path.startswith(":memory:"):
        return None
    return Path(path)


def hold(url: str) -> IO[str] | None:
    """Lock the database file's lock file, or refuse with one clear line."""
    path = sqlite_path(url)
    if path is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    handle = lock_path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(
            f"another leadbot process is already running on {path} (lock {lock_path}); "
            "stop it first, or use PostgreSQL to run several instances"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
