"""Reading a report table's figures out of a page's HTML, as the report page
tests check them: (row key, figure key) -> the cell's text."""

from __future__ import annotations

import re


def cells(html: str, table_id: str) -> dict[tuple[str, str], str]:
    """(row key, figure key) -> the cell's text, tags stripped, of one report table."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S)
    assert table, f"no table {table_id}"
    found = {}
    for row, body in re.findall(r'<tr data-row="([^"]+)"[^>]*>(.*?)</tr>', table.group(0), re.S):
        for key, cell in re.findall(r'<td[^>]*data-figure="([^"]+)">(.*?)</td>', body, re.S):
            found[(row, key)] = " ".join(re.sub(r"<[^>]+>", "", cell).split())
    return found
