"""Cells that a spreadsheet will not run: text from the public is data, never a formula (CSV and XLSX exports)."""

from __future__ import annotations

from typing import Any

# Excel, LibreOffice and WPS start a formula (or a DDE call) with these; OWASP's list for CSV injection
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """Text that would start a formula gets a leading apostrophe; numbers, dates and other text pass unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value
