"""The entry point of ``leadbot …``: the argument parser (every command and option),
logging set up once, and the exit codes of configuration and schema errors.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.assembly.cli.data import (
    cmd_backup,
    cmd_bench_data,
    cmd_db_current,
    cmd_db_upgrade,
    cmd_export,
    cmd_import_units,
    cmd_restore,
)
from bot.assembly.cli.reports import cmd_digest, cmd_periods, cmd_rescore, cmd_rules_check
from bot.assembly.cli.serve import cmd_console, cmd_run, cmd_webhook
from bot.assembly.config import ConfigError, Settings, load_settings
from storage.db import SchemaOutOfDate


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

    from bot.operations.logging_setup import setup_logging

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
