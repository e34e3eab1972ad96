"""Hostile .xlsx files, generated in the test (no big binaries in the repository).

Written by hand as the minimal parts of an Office Open XML workbook, the sheet's rows
streamed into a deflated zip member: millions of rows compress to a few hundred KB.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="0" fillId="1" borderId="0" xfId="0" applyFill="1"/></cellXfs>
</styleSheet>"""


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def workbook(rows: Iterator[str], last_row: int) -> bytes:
    """An .xlsx whose sheet claims ``A1:C{last_row}`` and holds the given row XML."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                + f'<dimension ref="A1:C{last_row}"/><sheetData>'.encode()
            )
            chunk: list[str] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= 20:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write("".join(chunk).encode() + b"</sheetData></worksheet>")
    return buf.getvalue()


def _repeated(row: str, count: int) -> Iterator[str]:
    """``count`` identical rows (no ``r`` attributes, as some writers do), in big chunks."""
    block = row * 10_000
    full, rest = divmod(count, 10_000)
    for _ in range(full):
        yield block
    yield row * rest


def millions_of_rows(count: int = 3_000_000) -> bytes:
    """A header and ``count`` filled rows (the issue's 429 KB file had 3 million)."""

    def rows() -> Iterator[str]:
        yield '<row><c t="inlineStr"><is><t>名称</t></is></c></row>'
        yield from _repeated('<row><c t="inlineStr"><is><t>局</t></is></c></row>', count)

    return workbook(rows(), count + 1)


def formatted_to_the_last_row(units: list[str], last_row: int = 1_048_576) -> bytes:
    """A few units, then every row down to ``last_row`` formatted (styled, empty)."""

    def rows() -> Iterator[str]:
        yield f"<row>{_cell('A1', '名称')}</row>"
        for n, name in enumerate(units, start=2):
            yield f"<row>{_cell(f'A{n}', name)}</row>"
        yield from _repeated(
            '<row s="1" customFormat="1"><c s="1"/></row>', last_row - len(units) - 1
        )

    return workbook(rows(), last_row)
