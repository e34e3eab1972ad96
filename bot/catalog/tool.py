"""Developer tool: add or change messages in a domain's .po files, both locales at once.

    python -m bot.catalog.tool DOMAIN messages.tsv

Each TSV line is ``key<TAB>zh_CN text<TAB>en text`` (``\\n`` for a line break).
Existing keys are updated, new ones added; the files stay sorted by key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).parent / "locale"


def upsert(domain: str, entries: list[tuple[str, str, str]]) -> None:
    for locale, column in (("zh_CN", 1), ("en", 2)):
        path = ROOT / locale / "LC_MESSAGES" / f"{domain}.po"
        current: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as fh:
                current = {str(m.id): str(m.string) for m in read_po(fh, locale=locale) if m.id}
        current.update({e[0]: e[column] for e in entries})
        catalog = Catalog(locale=locale, project="leadbot", domain=domain)
        for key, text in current.items():
            catalog.add(key, text)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=0, sort_output=True)


def main(argv: list[str]) -> None:
    domain, tsv = argv[0], Path(argv[1])
    entries = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, zh, en = line.split("\t")
            entries.append((key, zh.replace("\\n", "\n"), en.replace("\\n", "\n")))
    upsert(domain, entries)


if __name__ == "__main__":
    main(sys.argv[1:])
