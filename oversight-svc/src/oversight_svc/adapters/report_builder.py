"""Making a report off the event loop. A report is CPU-bound Python (the statistics of a city's 20,000 units, then
an XLSX that takes seconds): `ReportBuilder` runs both in worker processes, from what the database gave
(`domain.report.ReportInputs`), so the service's event loop (its consumers, its other requests) keeps running."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import orjson

from oversight_svc.adapters.report_files import XLSX, to_csv, to_html, to_xlsx
from oversight_svc.domain.report import ReportInputs, report_data


def render(data: dict[str, Any], fmt: str) -> tuple[bytes, str, dict[str, str]]:
    """The report in the asked format: (content, media type, headers)."""
    stem = f"report-{data['period']}-{data['from']}-{data['region'] or 'all'}"
    if fmt == "json":
        return orjson.dumps(data, default=str), "application/json", {}
    if fmt == "csv":
        return (to_csv(data).encode("utf-8-sig"), "text/csv; charset=utf-8",
                {"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    if fmt == "xlsx":
        return to_xlsx(data), XLSX, {"Content-Disposition": f'attachment; filename="{stem}.xlsx"'}
    return to_html(data).encode(), "text/html; charset=utf-8", {}


def make(inputs: ReportInputs, fmt: str) -> tuple[bytes, str, dict[str, str]]:
    """The report's data made from what was read (domain.report), then its file: what a worker runs."""
    return render(report_data(inputs), fmt)


class ReportBuilder:
    """Builds report files off the event loop: in `workers` processes (CPU-bound Python holds the GIL, so a thread
    would still stall the loop; measured in oversight_svc.bench), or in a thread when workers is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            # spawn, not fork: the service's process has threads (the broker client, the database driver)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def build(self, inputs: ReportInputs, fmt: str) -> tuple[bytes, str, dict[str, str]]:
        """`make` away from the event loop: the statistics of every unit and the file are CPU work."""
        if self.workers <= 0:
            return await asyncio.to_thread(make, inputs, fmt)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), make, inputs, fmt)
        except BrokenProcessPool:  # a worker died (killed, out of memory): a new pool for this and later reports
            self.close()
            return await loop.run_in_executor(self._executor(), make, inputs, fmt)

    def close(self) -> None:
        """Stop the workers (at shutdown)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
