"""``leadbot …`` commands: run, webhook, console, db, backup/restore, import-units, export, digest, periods.

The package: ``main`` (the parser and the entry point), ``serve`` (run, webhook,
console), ``data`` (db, backup/restore, import, export, bench data) and ``reports``
(digest, periods, rescore, rules check). ``python -m bot.assembly.cli`` runs ``main``.
"""

from bot.assembly.cli.data import (
    cmd_backup,
    cmd_bench_data,
    cmd_db_current,
    cmd_db_upgrade,
    cmd_export,
    cmd_import_units,
    cmd_restore,
)
from bot.assembly.cli.main import main
from bot.assembly.cli.reports import cmd_digest, cmd_periods, cmd_rescore, cmd_rules_check
from bot.assembly.cli.serve import cmd_console, cmd_run, cmd_webhook

__all__ = [
    "cmd_backup",
    "cmd_bench_data",
    "cmd_console",
    "cmd_db_current",
    "cmd_db_upgrade",
    "cmd_digest",
    "cmd_export",
    "cmd_import_units",
    "cmd_periods",
    "cmd_rescore",
    "cmd_restore",
    "cmd_rules_check",
    "cmd_run",
    "cmd_webhook",
    "main",
]
