"""Scoring from the command line: ``digest``, ``periods``, ``rescore`` and ``rules check``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.assembly.cli.data import _with_database
from bot.assembly.config import load_settings
from storage.db import Database


def cmd_digest(args: argparse.Namespace) -> int:
    from bot import catalog
    from bot.assembly.clock import SystemClock
    from bot.rendering import digest_xlsx
    from bot.rendering.digest_text import digest_text
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
    from bot.domain.periods import format_periods_lines
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

    from bot.assembly.clock import SystemClock
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
