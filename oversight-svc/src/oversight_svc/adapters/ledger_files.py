"""Ledger files written as the rows come: CSV (UTF-8 with a BOM, or GB18030 for old Excel) or XLSX through
openpyxl's write-only workbook (rows go to a temporary file, never a sheet held in memory). A file is built
into a temporary file, chunk by chunk in a worker thread (the event loop keeps serving consumers and requests),
and sent once it is whole: a failure midway answers problem+json instead of a truncated download, and no
database connection waits on a slow client.

Every cell goes through `safe_cell`: text that starts like a formula is written as text, never run."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import aclosing
from datetime import date, datetime
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from bancheng_shared.runtime import Runtime
from bancheng_shared.spreadsheet import safe_cell
from oversight_svc.adapters.ledgers import Filters, chunks
from oversight_svc.domain.ledgers import COLUMNS, TITLES, headers, row_cells

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_ENCODINGS = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}  # utf-8 gets its BOM so that Excel reads Chinese


class Sink(Protocol):
    """Where a ledger's rows are written, chunk by chunk (called in a worker thread)."""

    def write(self, ledger: str, rows: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> None: ...
    def close(self) -> None: ...


def _csv_text(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else safe_cell(v)


class CsvSink:
    """CSV in the asked encoding, header first."""

    def __init__(self, out: IO[bytes], ledger: str, encoding: str) -> None:
        self.text = io.TextIOWrapper(out, encoding=CSV_ENCODINGS[encoding], newline="", write_through=False)
        self.writer = csv.writer(self.text)
        self.writer.writerow(headers(ledger))

    def write(self, ledger: str, rows: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> None:
        """Append rows."""
        self.writer.writerows([_csv_text(v) for v in row_cells(ledger, r, tz)] for r in rows)

    def close(self) -> None:
        """Flush to the file (which stays open for the caller)."""
        self.text.flush()
        self.text.detach()


class XlsxSink:
    """One sheet named after the ledger, bold headers, column widths; dates and times as Excel dates."""

    def __init__(self, out: IO[bytes], ledger: str) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.out = out
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(TITLES[ledger])
        for i, col in enumerate(COLUMNS[ledger], 1):
            self.ws.column_dimensions[get_column_letter(i)].width = col.width
        self.ws.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for h in headers(ledger):
            cell = WriteOnlyCell(self.ws, value=h)
            cell.font = bold
            cells.append(cell)
        self.ws.append(cells)

    def write(self, ledger: str, rows: Sequence[Mapping[str, Any]], tz: ZoneInfo) -> None:
        """Append rows."""
        append = self.ws.append
        for r in rows:
            append([safe_cell(v) for v in row_cells(ledger, r, tz)])

    def close(self) -> None:
        """Write the workbook into the file."""
        self.wb.save(self.out)


async def build(rt: Runtime, ledger: str, fmt: str, f: Filters, *, encoding: str, tz: ZoneInfo,
                chunk_rows: int, tmp_dir: str | None) -> str:
    """Write a ledger into a new temporary file and return its path (the caller removes it)."""
    fd, path = tempfile.mkstemp(prefix="ledger-", suffix=f".{fmt}", dir=tmp_dir)
    try:
        with os.fdopen(fd, "w+b") as out:
            sink: Sink = (await asyncio.to_thread(XlsxSink, out, ledger) if fmt == "xlsx"
                          else CsvSink(out, ledger, encoding))
            # closed at once on an error, so that the cursor's connection goes back to the pool now, not at GC
            async with aclosing(chunks(rt, ledger, f, chunk_rows)) as rows_in_chunks:
                async for rows in rows_in_chunks:
                    await asyncio.to_thread(sink.write, ledger, rows, tz)
            await asyncio.to_thread(sink.close)
    except BaseException:
        os.unlink(path)
        raise
    return path
