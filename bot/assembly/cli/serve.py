"""Running the bot: ``leadbot run`` (polling, or DingTalk only), ``webhook`` and
``console``, with the checks that turn a bad start into one line saying what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from datetime import datetime

from bot.assembly.cli.data import _safe_url, _with_database
from bot.assembly.config import ConfigError, Settings, load_settings, missing_setting
from storage.db import Database, SchemaOutOfDate

log = logging.getLogger("leadbot")


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    token = settings.token_value()
    if not token and settings.dingtalk_enabled:
        return _run_dingtalk_only(settings)
    if not token:
        raise ConfigError(
            "config error: LEADBOT_TOKEN (token): expected the bot token from @BotFather "
            "(or set LEADBOT_DINGTALK_CLIENT_ID/_CLIENT_SECRET/_ROBOT_CODE for DingTalk); "
            "without one, try `leadbot console --demo`"
        )
    _require_admins(settings)
    if (failed := _check_database(settings)) is not None:
        return failed
    from bot.operations import runlock

    lock = runlock.hold(settings.database_url)
    try:
        return asyncio.run(_poll(settings))
    except Exception as exc:
        if (line := _telegram_failure(exc, settings)) is None:
            raise
        return _fail(line, exc)
    finally:
        if lock is not None:
            lock.close()


async def _poll(settings: Settings) -> int:
    """Long polling through the durable inbox (bot/assembly/inbox.py), until SIGTERM or SIGINT."""
    import signal

    from bot.assembly.app import ALLOWED_UPDATES, build_application

    db = Database(settings.database_url)
    app = build_application(settings, db)
    if settings.dingtalk_enabled:
        from bot.assembly.clock import SystemClock
        from handlers.dingtalk.runtime import attach_to_telegram

        attach_to_telegram(app, settings, db, SystemClock())
        log.info("DingTalk: served in the same process")
    if app.web is not None:  # polling has no webhook server: the web app gets a port of its own
        app.web_listen = (settings.webhook_listen, settings.web_port)
    log.info("starting long polling on %s", _safe_url(settings.database_url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.initialize()
        await app.start()
        app.inbox.start_polling(timeout=10, allowed_updates=ALLOWED_UPDATES)
        await stop.wait()
        log.info("stopping: finishing the updates in hand")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        try:
            if app.running:
                await app.stop()
            await app.shutdown()
        finally:
            await db.dispose()
    return 0


def _run_dingtalk_only(settings: Settings) -> int:
    """DingTalk alone: no Telegram token. The same application as with Telegram, started
    without it: the schedule (reminders, the weekly close, digests), the outbox (through
    DingTalk), the web app (``LEADBOT_WEB_URL`` with ``LEADBOT_WEB_SECRET``)."""
    if (failed := _check_database(settings)) is not None:
        return failed
    from bot.operations import runlock

    lock = runlock.hold(settings.database_url)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_dingtalk_only(settings))
    finally:
        if lock is not None:
            lock.close()
    return 0


async def _serve_dingtalk_only(settings: Settings) -> None:
    import signal

    from bot.assembly.app import build_application
    from bot.assembly.clock import SystemClock
    from bot.assembly.config import NO_TELEGRAM_TOKEN
    from handlers.dingtalk.runtime import serve_dingtalk

    db = Database(settings.database_url)
    clock = SystemClock()
    app = build_application(
        settings, db, clock, token=NO_TELEGRAM_TOKEN, rate_limiter=False, set_menus=False
    )
    if app.web is not None:
        app.web_listen = (settings.webhook_listen, settings.web_port)
    log.info("starting DingTalk Stream mode on %s", _safe_url(settings.database_url))
    loop = asyncio.get_running_loop()
    stream: asyncio.Task[None] | None = None
    try:
        await app.start_without_telegram()  # the schema first: then messages may come
        stream = asyncio.create_task(serve_dingtalk(settings, db, clock, app=app))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stream.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await stream
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if stream is not None:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)
        try:
            await app.stop_without_telegram()
        finally:
            await db.dispose()


def cmd_webhook(args: argparse.Namespace) -> int:
    settings = load_settings()
    if not settings.token_value():
        raise missing_setting("token")
    if not settings.webhook_url:
        raise missing_setting("webhook_url")
    if not settings.webhook_secret_value():
        raise missing_setting("webhook_secret")
    _require_admins(settings)
    from telegram.error import TelegramError

    from bot.assembly.webhook import serve

    if (failed := _check_database(settings)) is not None:
        return failed

    log.info(
        "webhook at %s%s, database %s",
        settings.webhook_url,
        settings.webhook_path,
        _safe_url(settings.database_url),
    )
    try:
        from bot.operations import runlock

        lock = runlock.hold(settings.database_url)
        try:
            return asyncio.run(serve(settings))
        finally:
            if lock is not None:
                lock.close()
    except OSError as exc:  # e.g. the port is taken
        print(
            f"leadbot: cannot listen on {settings.webhook_listen}:{settings.webhook_port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
    except TelegramError as exc:  # Bot API unreachable, token refused, setWebhook refused the URL
        if (line := _telegram_failure(exc, settings)) is not None:
            return _fail(line, exc)
        print(f"leadbot: the webhook could not start: {exc.message}", file=sys.stderr)
    return 1


def _fail(line: str, exc: BaseException) -> int:
    """One line for the operator; the traceback only in the log, at debug level."""
    log.debug("start-up failed", exc_info=exc)
    print(line, file=sys.stderr)
    return 1


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _telegram_failure(exc: BaseException, settings: Settings) -> str | None:
    """The line for "Telegram unreachable" or "token refused", None for anything else."""
    from telegram.error import InvalidToken, NetworkError

    from bot import catalog

    loc = settings.locale
    for err in _chain(exc):
        if isinstance(err, InvalidToken):
            return catalog.plain("rough.cli.telegram_token", loc, reason=err.message)
        if isinstance(err, NetworkError):  # TimedOut included
            url = settings.bot_api_url or "https://api.telegram.org/bot"
            return catalog.plain(
                "rough.cli.telegram_unreachable", loc, url=url, reason=err.message or "?"
            )
    return None


async def _opened(db: Database) -> None:
    """Nothing more: :func:`_with_database` has connected and checked the schema."""


def _check_database(settings: Settings) -> int | None:
    """Before serving: can the database be opened, with this login, at this schema?
    None when it can; otherwise the one line was printed and this is the exit code."""
    from sqlalchemy.engine import make_url

    from bot import catalog

    if settings.database_url.startswith("sqlite"):
        return None  # a local file: nothing to reach or log in to (the bot upgrades it itself)
    loc = settings.locale
    try:
        _with_database(settings.database_url, _opened)
    except SchemaOutOfDate:
        raise
    except Exception as exc:
        url = make_url(settings.database_url)
        where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database}"
        if url.get_backend_name() == "sqlite":
            where = str(url.database)
        names = {type(e).__name__ for e in _chain(exc)}
        texts = [str(e).strip() for e in reversed(_chain(exc)) if str(e).strip()]
        reason = texts[0].splitlines()[0][:200] if texts else type(exc).__name__
        if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
            key = "rough.cli.db_login"
        elif "InvalidCatalogNameError" in names:
            key = "rough.cli.db_missing"
        elif any(isinstance(e, OSError) for e in _chain(exc)):
            key = "rough.cli.db_unreachable"
        else:
            key = "rough.cli.db_failed"
        line = catalog.plain(
            key, loc, where=where, user=url.username or "?", name=url.database or "?", reason=reason
        )
        return _fail(line, exc)
    return None


def _require_admins(settings: Settings) -> None:
    """Without an admin nobody can create units or invite anyone: refuse to serve."""
    if not settings.admins:
        raise missing_setting("admins", " (without one nobody can onboard the units)")


def cmd_console(args: argparse.Namespace) -> int:
    from bot.assembly.console import run_console

    settings = load_settings()
    start = None
    if args.now:
        try:
            start = datetime.fromisoformat(args.now)
        except ValueError:
            raise ConfigError(
                f"leadbot console: --now expects a time like 2026-11-24T10:00, got {args.now!r}"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=settings.zone)
    if getattr(args, "channel", "telegram") == "dingtalk":
        from bot.assembly.dingtalk_console import run_dingtalk_console

        return asyncio.run(
            run_dingtalk_console(
                settings, demo=args.demo, database_url=args.database_url, start=start
            )
        )
    return asyncio.run(
        run_console(settings, demo=args.demo, database_url=args.database_url, start=start)
    )
