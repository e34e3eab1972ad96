"""``leadbot …`` commands: run, webhook, console, db, backup/restore, import-units, export, digest, periods."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from bot.config import ConfigError, Settings, load_settings, missing_setting
from storage.db import Database, SchemaOutOfDate

log = logging.getLogger("leadbot")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        _logging(args, load_settings())
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _logging(args: argparse.Namespace, settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    from bot.logging_setup import setup_logging

    quiet = args.func is cmd_console
    level = logging.DEBUG if args.verbose else (logging.WARNING if quiet else settings.log_level)
    secrets = [settings.token_value() or "", settings.webhook_secret_value() or ""]
    passwords: list[str] = []
    with contextlib.suppress(Exception):
        passwords.append(make_url(settings.database_url).password or "")
    setup_logging(level, json=settings.log_json, secrets=secrets, passwords=passwords)
    # Alembic says "Context impl SQLiteImpl." on every command: only with -v.
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    logging.getLogger("telegram.ext").addFilter(_bootstrap_failure_at_debug)


def _bootstrap_failure_at_debug(record: logging.LogRecord) -> bool:
    """PTB logs a failed start (Telegram unreachable) as an ERROR with a traceback; `run`
    prints one line for it instead, so the traceback is kept for debug logging only."""
    if record.levelno >= logging.ERROR and "Bootstrap Initialize" in record.getMessage():
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)
    return True


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadbot", description="Leadbot: 招商引资 reporting bot")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(title="commands")

    run = sub.add_parser(
        "run",
        help="serve Telegram by long polling (needs LEADBOT_TOKEN)",
        description="Serve the bot on Telegram by long polling until Ctrl-C or SIGTERM. Needs "
        "LEADBOT_TOKEN (from @BotFather) and LEADBOT_ADMINS (your Telegram user id); the database "
        "is DATABASE_URL (default: leadbot.db here). Set LEADBOT_BOT_API_URL where api.telegram.org "
        "is not reachable. No options besides -v (debug logging, before the command).",
    )
    run.set_defaults(func=cmd_run)

    hook = sub.add_parser(
        "webhook",
        help="serve Telegram by webhook with /healthz and /metrics (needs token, webhook URL and secret)",
        description="Register LEADBOT_WEBHOOK_URL + LEADBOT_WEBHOOK_PATH with Telegram and serve it on "
        "LEADBOT_WEBHOOK_LISTEN:LEADBOT_WEBHOOK_PORT (default 0.0.0.0:8080), with /healthz and "
        "/metrics beside it, until SIGTERM. Needs LEADBOT_TOKEN, LEADBOT_ADMINS, LEADBOT_WEBHOOK_URL "
        "and LEADBOT_WEBHOOK_SECRET. Configured by settings only (docs/operations.md).",
    )
    hook.set_defaults(func=cmd_webhook)

    con = sub.add_parser("console", help="chat with the bot in the terminal, no token needed")
    con.add_argument(
        "--demo", action="store_true", help="seed a small demo jurisdiction in a fresh database"
    )
    con.add_argument(
        "--channel",
        choices=("telegram", "dingtalk"),
        default="telegram",
        help="which stand-in the people type into (dingtalk: docs/dingtalk.md)",
    )
    con.add_argument(
        "--database-url",
        help="database to use (default: DATABASE_URL, or a temporary one with --demo)",
    )
    con.add_argument(
        "--now",
        help="start the console's clock here, e.g. 2026-11-24T10:00 (bot's zone); default: now",
    )
    con.set_defaults(func=cmd_console)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(title="db commands")
    up = dbsub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=cmd_db_current)

    bak = sub.add_parser(
        "backup",
        help="write a consistent copy of the database to PATH (safe while the bot runs)",
        description="Write a consistent copy of DATABASE_URL to PATH while the bot keeps running: "
        "a SQLite file for SQLite, a pg_dump custom-format file for PostgreSQL (pg_dump on PATH). "
        "The folder must exist. `leadbot restore PATH` puts it back.",
    )
    bak.add_argument(
        "path", type=Path, help="the file to write, e.g. backups/leadbot-2026-12-01.db"
    )
    bak.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    bak.set_defaults(func=cmd_backup)
    res = sub.add_parser(
        "restore", help="replace the database with the backup at PATH (stop the bot first)"
    )
    res.add_argument("path", type=Path)
    res.add_argument("--force", action="store_true", help="replace an existing database")
    res.set_defaults(func=cmd_restore)

    imp = sub.add_parser(
        "import-units",
        help="import units from an .xlsx or .csv sheet",
        description="Add the units listed in the first sheet of an .xlsx or a .csv: a header row, a "
        "名称 column (also 单位名称 or name), optional 简称 and 序列, one unit a row. Rows that "
        "cannot be added (a name already there, …) are skipped and listed with the reason.",
    )
    imp.add_argument("file", type=Path, help="the .xlsx or .csv sheet")
    imp.set_defaults(func=cmd_import_units)

    exp = sub.add_parser(
        "export", help="write the 台账 workbook (.xlsx): leads, weekly submissions, ledger, ranking"
    )
    exp.add_argument(
        "path", type=Path, help="the .xlsx to write; a folder gets 招商引资台账_<period>.xlsx"
    )
    exp.add_argument(
        "--period",
        choices=["week", "month", "quarter", "year"],
        help="kind of period (default: what --key names, else month)",
    )
    exp.add_argument(
        "--key",
        help="which one: 2026-W45, 2026-11, 2026-Q4, 2026 (default: the current one); "
        "the kind follows from it",
    )
    exp.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    exp.add_argument(
        "--all", action="store_true", help="every lead (the whole 台账), not only the period's"
    )
    exp.set_defaults(func=cmd_export)

    dig = sub.add_parser(
        "digest",
        help="print a leaders' report (half-monthly, monthly, quarterly, annual); --xlsx writes its workbook",
    )
    dig.add_argument("kind", choices=["half", "month", "quarter", "year"])
    dig.add_argument(
        "key",
        nargs="?",
        help="which one: 2026-10-H1, 2026-10, 2026-Q3, 2026 (default: the last one that ended)",
    )
    dig.add_argument(
        "--xlsx",
        type=Path,
        help="also write the report's .xlsx here (a folder gets its default name)",
    )
    dig.set_defaults(func=cmd_digest)

    per = sub.add_parser(
        "periods",
        help="print the weekly periods and deadlines of a year",
        description="Print each weekly period of a year and its deadline, tab-separated "
        "(paste into a sheet). Deadlines on a public holiday move to the previous working day; "
        "for a year the holiday package does not know, a warning says how to list the days off "
        "(LEADBOT_EXTRA_HOLIDAYS / LEADBOT_EXTRA_WORKDAYS).",
    )
    per.add_argument("--year", type=int, required=True, help="the calendar year, e.g. 2026")
    per.set_defaults(func=cmd_periods)

    rs = sub.add_parser(
        "rescore",
        help="re-derive every ledger entry under the rules in force; print the change per unit",
    )
    rs.set_defaults(func=cmd_rescore)
    bd = sub.add_parser(
        "bench-data",
        help="write a large, realistic database for the benchmarks (docs/benchmarks.md)",
    )
    bd.add_argument("path", help="a new SQLite file, or a PostgreSQL URL (its tables are created)")
    bd.add_argument("--units", type=int, default=300)
    bd.add_argument("--leads", type=int, default=100_000)
    bd.add_argument("--ledger", type=int, default=1_000_000, help="ledger lines, about")
    bd.add_argument("--years", type=int, default=5)
    bd.add_argument("--seed", type=int, default=20261117)
    bd.add_argument(
        "--rules", default="jiaocheng", help="rules preset or file the ledger is derived under"
    )
    bd.set_defaults(func=cmd_bench_data)
    rules = sub.add_parser("rules", help="rules files")
    rulesub = rules.add_subparsers(title="rules commands")
    chk = rulesub.add_parser(
        "check",
        help="validate a rules file (or a preset: jiaocheng, kaihua) and print the table in words, "
        "with a warning for every name the forms cannot record",
    )
    chk.add_argument("file", help="a rules TOML file or a preset name")
    chk.add_argument("--lang", default=None, help="zh_CN or en (default: LEADBOT_LOCALE)")
    chk.set_defaults(func=cmd_rules_check)
    return p


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
    from bot import runlock

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
    """Long polling through the durable inbox (bot/inbox.py), until SIGTERM or SIGINT."""
    import signal

    from bot.app import ALLOWED_UPDATES, build_application

    db = Database(settings.database_url)
    app = build_application(settings, db)
    if settings.dingtalk_enabled:
        from bot.clock import SystemClock
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
    """DingTalk alone: no Telegram token.  The scheduler still lives in the Telegram
    application, so reminders do not go out in this mode yet (docs/dingtalk.md)."""
    from bot.clock import SystemClock
    from handlers.dingtalk.runtime import serve_dingtalk

    async def serve() -> None:
        db = Database(settings.database_url)
        await db.ensure_schema()
        try:
            await serve_dingtalk(settings, db, SystemClock())
        finally:
            await db.dispose()

    log.info("starting DingTalk Stream mode on %s", _safe_url(settings.database_url))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


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

    from bot.webhook import serve

    if (failed := _check_database(settings)) is not None:
        return failed

    log.info(
        "webhook at %s%s, database %s",
        settings.webhook_url,
        settings.webhook_path,
        _safe_url(settings.database_url),
    )
    try:
        from bot import runlock

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


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, backup

    settings = load_settings()
    try:
        result = backup(settings.database_url, args.path, force=args.force)
    except BackupError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 1
    print(
        f"backup of {_safe_url(settings.database_url)} written to {result.path} ({result.bytes} bytes, {result.detail})"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from bot.backup import BackupError, restore

    settings = load_settings()
    try:
        result = restore(settings.database_url, args.path, force=args.force)
    except BackupError as exc:
        print(f"leadbot: {exc}", file=sys.stderr)
        return 1
    print(f"{_safe_url(settings.database_url)} restored from {args.path} ({result.detail})")
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

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
        from bot.dingtalk_console import run_dingtalk_console

        return asyncio.run(
            run_dingtalk_console(
                settings, demo=args.demo, database_url=args.database_url, start=start
            )
        )
    return asyncio.run(
        run_console(settings, demo=args.demo, database_url=args.database_url, start=start)
    )


T = TypeVar("T")


def _with_database(url: str, work: Callable[[Database], Awaitable[T]], *, schema: bool = True) -> T:
    """One piece of CLI work on the database: the schema checked (SQLite upgraded) first,
    the engine disposed after, whatever happens."""

    async def go() -> T:
        db = Database(url)
        try:
            if schema:
                await db.ensure_schema()
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def upgrade(db: Database) -> str | None:
        await db.upgrade(args.revision)
        return await db.current_revision()

    revision = _with_database(settings.database_url, upgrade, schema=False)
    print(f"schema at revision {revision} ({_safe_url(settings.database_url)})")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = load_settings()

    print(_with_database(settings.database_url, Database.current_revision, schema=False) or "none")
    return 0


def cmd_import_units(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.clock import SystemClock
    from bot.services import ServiceError
    from bot.services.units import ImportReport, import_units
    from bot.sheets import SheetError, read_unit_sheet

    settings = load_settings()
    loc = settings.locale
    try:
        rows = read_unit_sheet(args.file.read_bytes(), args.file.name)
    except OSError as exc:
        print(f"leadbot: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except SheetError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1

    async def work(db: Database) -> ImportReport:
        async with db.session() as session:
            return await import_units(session, SystemClock().now(), rows)

    try:
        report = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    print(catalog.plain("import.done", loc, added=len(report.added), skipped=len(report.skipped)))
    for row, code, params in report.skipped:
        print(
            catalog.plain(
                "import.skip_line", loc, row=row, reason=catalog.plain(code, loc, **params)
            )
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.clock import SystemClock
    from bot.export import ExportData, build_workbook
    from bot.services import ServiceError, export, scoring

    settings = load_settings()
    loc = settings.locale
    kind = args.period or export.DEFAULT_KIND
    if args.key:
        key_kind = export.key_kind(args.key)
        if key_kind is None:
            print(
                catalog.plain("rough.cli.export_bad_key", loc, key=args.key[:20]), file=sys.stderr
            )
            return 1
        if args.period and args.period != key_kind:
            print(
                catalog.plain(
                    "rough.cli.export_kind_mismatch",
                    loc,
                    key=args.key[:20],
                    key_kind=key_kind,
                    kind=args.period,
                ),
                file=sys.stderr,
            )
            return 1
        kind = key_kind

    async def work(db: Database) -> ExportData:
        async with db.session() as session:
            return await export.collect(
                session,
                scoring.setup_for(settings),
                SystemClock().now(),
                kind,
                args.key,
                whole=args.all,
            )

    try:
        data = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    path = args.path / data.filename if args.path.is_dir() else args.path
    if path.exists() and not args.force:
        print(catalog.plain("export.cli_exists", loc, path=str(path)), file=sys.stderr)
        return 1
    try:
        path.write_bytes(build_workbook(data))
    except OSError as exc:
        print(
            catalog.plain(
                "export.cli_cannot_write", loc, path=str(path), reason=exc.strerror or str(exc)
            ),
            file=sys.stderr,
        )
        return 1
    print(
        catalog.plain(
            "export.cli_done",
            loc,
            path=str(path),
            leads=len(data.leads),
            weekly=len(data.weekly),
            ledger=len(data.ledger),
            units=len(data.ranking),
            period=data.span.label(loc),
        )
    )
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from bot import catalog, digest_xlsx
    from bot.clock import SystemClock
    from bot.digest_text import digest_text
    from bot.services import ServiceError, digests, scoring

    settings = load_settings()
    loc = settings.locale

    async def work(db: Database) -> digests.Report:
        async with db.session() as session:
            return await digests.collect(
                session, scoring.setup_for(settings), SystemClock().now(), args.kind, args.key
            )

    try:
        report = _with_database(settings.database_url, work)
    except ServiceError as err:
        print(catalog.plain(err.code, loc, **err.params), file=sys.stderr)
        return 1
    print(digest_text(loc, report, settings.zone))
    if args.xlsx is not None:
        path = args.xlsx / digest_xlsx.file_name(report) if args.xlsx.is_dir() else args.xlsx
        try:
            path.write_bytes(digest_xlsx.build_workbook(report, settings.zone))
        except OSError as exc:
            print(
                catalog.plain(
                    "digest.cli_cannot_write", loc, path=str(path), reason=exc.strerror or str(exc)
                ),
                file=sys.stderr,
            )
            return 1
        print(catalog.plain("digest.cli_written", loc, path=str(path)), file=sys.stderr)
    return 0


def cmd_periods(args: argparse.Namespace) -> int:
    from datetime import date

    from bot import catalog
    from bot.periods import format_periods_lines
    from bot.services.scoring import periods_for

    settings = load_settings()
    periods = periods_for(settings)
    for line in format_periods_lines(periods, args.year):
        print(line)
    listed = any(d.year == args.year for d in settings.extra_holidays)
    if not periods.calendar.covers(date(args.year, 1, 1)) and not listed:
        print(
            catalog.plain("rough.cli.periods_uncovered", settings.locale, years=args.year),
            file=sys.stderr,
        )
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    """After a rules change: every derived entry again from the events; manual adjustments stay."""
    import time

    from bot.clock import SystemClock
    from bot.services import scoring

    settings = load_settings()
    setup = scoring.setup_for(settings)

    async def work(db: Database) -> list[scoring.UnitDiff]:
        return await scoring.rescore_all(db, setup, SystemClock().now())

    started = time.perf_counter()
    diffs = _with_database(settings.database_url, work)
    changed = [d for d in diffs if d.added or d.removed]
    print(
        f"rules: {setup.source} ({setup.fingerprint}); {len(diffs)} units, {len(changed)} changed, "
        f"{time.perf_counter() - started:.1f} s"
    )
    for d in changed:
        print(
            f"{d.unit_name}\t{_num(d.before)} → {_num(d.after)}\t(+{d.added} lines, −{d.removed} lines voided)"
        )
    return 0


def cmd_bench_data(args: argparse.Namespace) -> int:
    from bot import benchdata
    from bot.services import scoring

    url = args.path if "://" in args.path else f"sqlite+aiosqlite:///{Path(args.path).resolve()}"
    if "://" not in args.path and Path(args.path).exists():
        print(f"{args.path} exists: bench-data writes a new database", file=sys.stderr)
        return 1
    settings = load_settings().model_copy(update={"rules_file": args.rules})
    setup = scoring.setup_for(settings)
    size = benchdata.BenchSize(args.units, args.leads, args.ledger, args.years, args.seed)

    async def work() -> benchdata.BenchReport:
        db = Database(url)
        try:
            await db.upgrade()
            return await benchdata.write(db, setup, benchdata.default_now(), size, print)
        finally:
            await db.dispose()

    r = asyncio.run(work())
    print(
        f"{r.units} units, {r.leads} leads, {r.lead_events} lead events, {r.activities} activities, "
        f"{r.weekly} weekly submissions, {r.ledger} ledger lines in {r.seconds:.0f} s"
    )
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    from bot.rules import RulesError, check_file, describe, load_preset
    from bot.rules.describe import ui_warnings
    from bot.rules.schema import PRESETS
    from bot.services.scoring import lead_choices

    settings = load_settings()
    locale = args.lang or settings.locale
    try:
        if str(args.file) in PRESETS and not Path(args.file).exists():
            rules = load_preset(str(args.file))
            lines = describe(rules, locale)
        else:
            rules, lines = check_file(Path(args.file), locale)
    except RulesError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"leadbot: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    for warning in ui_warnings(rules, lead_choices(settings, rules)):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _num(value: object) -> str:
    from decimal import Decimal

    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _safe_url(url: str) -> str:
    """Never print a database password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url


if __name__ == "__main__":
    raise SystemExit(main())
