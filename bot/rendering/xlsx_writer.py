"""A small, fast ``.xlsx`` writer for the bot's tables: the same look as the export's sheet
writer (bold, filled, frozen header row, autofilter, measured widths, real numbers and
dates with their number formats), written as SpreadsheetML text directly.

Why not openpyxl: even in write-only mode it builds a cell object, binds and type-checks its
value and serialises it through an element tree — some 40 µs a cell on this machine class, so
a 项目推进情况 sheet of 7 000 projects × 14 columns alone would take four seconds. Here a
cell is one formatted string (about 1 µs), strings written inline (``inlineStr``: no shared
string table to keep), one style per number format shared by every cell that uses it.

Rows are written to the zip member as they come (two passes over ``rows``: the widths first,
since ``<cols>`` precedes the data), so a large table stays small in memory. Reading the
result with openpyxl gives back the values, number formats, header font, freeze pane,
autofilter and widths the openpyxl writer gave (tests/unit/test_xlsx_writer.py).

It needs nothing from openpyxl (the column letters and Excel's day numbers are a few lines
here, held equal to openpyxl's by the tests): importing openpyxl costs some 6 MB with Pillow,
which the bot's own process, importing this module with the digests, would hold for nothing.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

HEADER_FILL = "DDEBF7"
DEFAULT_DATETIME = "yyyy-mm-dd h:mm:ss"  # openpyxl's default for a datetime with no format
DEFAULT_DATE = "yyyy-mm-dd"
MAX_TEXT = 32767  # Excel's limit for a cell's text (openpyxl cuts there too)
_REPEATED = 4096  # texts a sheet remembers the XML of (bounded: a big export's are unique)
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # not allowed in XML 1.0 text
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (the Windows 1900 date system)


class ColumnLike(Protocol):
    """What a column says: its header, number format, fixed width (or None: measured)."""

    @property
    def header(self) -> str: ...
    @property
    def fmt(self) -> str | None: ...


class Book:
    """One workbook being written: :meth:`sheet` per table, then :meth:`bytes`."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._zip = zipfile.ZipFile(self._buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._titles: list[tuple[str, str]] = []  # (title, autofilter ref)
        self._formats: dict[str, int] = {}  # number format → its cellXfs index (2, 3, …)

    def _style(self, fmt: str | None) -> int:
        if fmt is None:
            return 0
        return self._formats.setdefault(fmt, len(self._formats) + 2)

    def sheet(
        self,
        title: str,
        columns: Sequence[ColumnLike],
        widths: Sequence[float],
        rows: Iterable[Sequence[Any]],
        count: int,
    ) -> None:
        """A sheet: the header row, then ``rows`` (``count`` of them, for the autofilter)."""
        letters = [column_letter(i) for i in range(1, len(columns) + 1)]
        styles = [self._style(getattr(c, "fmt", None)) for c in columns]
        last = f"{letters[-1]}{count + 1}" if letters else "A1"
        self._titles.append((title, f"A1:{last}"))
        with self._zip.open(f"xl/worksheets/sheet{len(self._titles)}.xml", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            out.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
                f'xmlns:r="{_REL}"><dimension ref="A1:{last}"/><sheetViews><sheetView '
                'workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                '</sheetView></sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
            )
            if widths:
                out.write("<cols>")
                for i, width in enumerate(widths, start=1):
                    out.write(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>')
                out.write("</cols>")
            out.write('<sheetData><row r="1">')
            for letter, column in zip(letters, columns, strict=True):
                out.write(_cell(f"{letter}1", column.header, 1, self._style))
            out.write("</row>")
            # Per column: its letter, style, style attribute and the cells of its texts after
            # their reference (words repeat: units, stages, 是/否).
            cols: list[tuple[str, int, str, dict[str, str]]] = [
                (letter, style, f' s="{style}"' if style else "", {})
                for letter, style in zip(letters, styles, strict=True)
            ]
            kept = 0
            block: list[str] = []  # rows written a few hundred at a time
            for n, values in enumerate(rows, start=2):
                row = str(n)
                block.append(f'<row r="{row}">')
                for (letter, style, attr, seen), value in zip(cols, values, strict=False):
                    kind = type(value)
                    if kind is str:
                        if not value:  # openpyxl writes no cell for ""
                            continue
                        tail = seen.get(value)
                        if tail is None:
                            tail = _text_tail(value, style)
                            if kept < _REPEATED:
                                seen[value] = tail
                                kept += 1
                        block.append(f'<c r="{letter}{row}"{tail}')
                    elif kind is int or kind is float:  # _cell's number branch, inlined: most cells
                        block.append(f'<c r="{letter}{row}"{attr}><v>{value}</v></c>')
                    elif value is not None:
                        block.append(_cell(f"{letter}{row}", value, style, self._style))
                block.append("</row>")
                if len(block) > 4096:
                    out.write("".join(block))
                    block.clear()
            out.write("".join(block))
            out.write(f'</sheetData><autoFilter ref="A1:{last}"/>')
            out.write(
                '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
            )
            out.write("</worksheet>")
            out.flush()
            out.detach()

    def bytes(self) -> bytes:
        """The finished workbook (the sheets written, then the parts naming them)."""
        n = len(self._titles)
        z = self._zip
        z.writestr("[Content_Types].xml", _content_types(n))
        z.writestr("_rels/.rels", _root_rels())
        z.writestr("xl/workbook.xml", _workbook(self._titles))
        z.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(n))
        z.writestr("xl/styles.xml", _styles(self._formats))
        z.close()
        return self._buffer.getvalue()


def column_letter(index: int) -> str:
    """The 1-based column ``index`` as a cell reference names it: A … Z, AA … (openpyxl's
    ``get_column_letter``)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def excel_day(value: date | datetime) -> float:
    """A date or naive datetime as Excel's day number, the fraction its time of day (openpyxl's
    ``to_excel``, to the digit): days from 30 Dec 1899, one less up to 28 Feb 1900 since Excel
    counts a 29 Feb 1900 that never was."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    days = (value - _EPOCH).days
    if 0 < days <= 60:
        days -= 1
    seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 10**6
    return days + seconds / 86400


def _text_tail(value: str, style: int) -> str:
    """A text cell's XML after ``<c r="A1"``."""
    s = f' s="{style}"' if style else ""
    if value and value.isprintable() and value[0] != " " != value[-1] and len(value) <= MAX_TEXT:
        # The usual text (a name, a note on one line): no control character to drop, no
        # whitespace at an end to keep (str.strip's are ASCII space or not printable).
        return f'{s} t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    text = _ILLEGAL.sub("", value)[:MAX_TEXT]
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'{s} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _cell(ref: str, value: Any, style: int, style_of: Callable[[str], int]) -> str:
    """One cell's XML; a date in a column with no number format gets openpyxl's default one."""
    if isinstance(value, str):
        return f'<c r="{ref}"{_text_tail(value, style)}'
    if isinstance(value, datetime | date):
        if not style:
            style = style_of(DEFAULT_DATETIME if isinstance(value, datetime) else DEFAULT_DATE)
        return f'<c r="{ref}" s="{style}"><v>{excel_day(value)}</v></c>'
    s = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    return _cell(ref, str(value), style, style_of)


def _content_types(n: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
        'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType='
        '"application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
        f'officedocument.spreadsheetml.styles+xml"/>{sheets}</Types>'
    )


def _root_rels() -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )


def _workbook(titles: Sequence[tuple[str, str]]) -> str:
    sheets = "".join(
        f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>'
        for i, (title, _) in enumerate(titles, start=1)
    )
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{escape(_quoted(title))}!{_absolute(ref)}</definedName>"
        for i, (title, ref) in enumerate(titles)
    )
    defined = f"<definedNames>{names}</definedNames>" if names else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" '
        f'xmlns:r="{_REL}"><bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>'
        f"{defined}</workbook>"
    )


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))


def _workbook_rels(n: int) -> str:
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'{rels}<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )


def _styles(formats: dict[str, int]) -> str:
    ordered = sorted(formats.items(), key=lambda item: item[1])
    fmts = "".join(
        f'<numFmt numFmtId="{164 + i}" formatCode={quoteattr(fmt)}/>'
        for i, (fmt, _) in enumerate(ordered)
    )
    numfmts = f'<numFmts count="{len(ordered)}">{fmts}</numFmts>' if ordered else ""
    xfs = "".join(
        f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for i in range(len(ordered))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
        f"{numfmts}"
        '<fonts count="2"><font><sz val="11"/>'
        '<name val="Calibri"/><family val="2"/></font><font><b val="1"/><sz val="11"/><name '
        'val="Calibri"/><family val="2"/></font></fonts><fills count="3"><fill><patternFill '
        'patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill><fill>'
        f'<patternFill patternType="solid"><fgColor rgb="00{HEADER_FILL}"/><bgColor '
        'indexed="64"/></patternFill></fill></fills><borders count="1"><border><left/><right/>'
        '<top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" '
        f'fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="{2 + len(ordered)}">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" '
        'fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" '
        f'applyAlignment="1"><alignment vertical="center"/></xf>{xfs}</cellXfs><cellStyles '
        'count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )
