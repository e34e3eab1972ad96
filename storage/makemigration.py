"""Developer helper: ``python -m storage.makemigration REV_ID "message"``.

Autogenerates a revision by comparing the models with a scratch SQLite database
upgraded to the current head, so no server is needed to write a migration.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from storage.db import alembic_config


def main(argv: list[str]) -> None:
    rev_id, message = argv[0], argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
            command.revision(alembic_config(conn), message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1:])
