"""Pure reading and validation of CSV exports (no ORM).

Each import kind declares its columns (`Column`: field name, header aliases,
parser, required). A file is read whole, every cell is parsed, and every
problem is collected as a `RowError` (row number, column, value, reason), so
one run reports everything wrong with a file, not just the first mistake.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Column:
    field: str
    parse: Parser
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    row: int  # the line number in the file; the header is row 1
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        value = f", value {self.value!r}" if self.value else ""
        return f"{where}{value}: {self.reason}"


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    raw: dict[str, str]
    errors: list[RowError] = field(default_factory=list)


class FileRefused(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


def header_key(name: str) -> str:
    """`"Company Domain Name"` -> `company_domain_name`; BOM and case folded."""
    return re.sub(r"[^a-z0-9]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


def column_map_parse(text: str) -> dict[str, str]:
    """`--map "Org Name=name,Web=domain"` -> {header key: field}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        header, sep, field_name = part.partition("=")
        if not sep or not header.strip() or not field_name.strip():
            raise FileRefused(f"--map entry {part!r} is not of the form column=field")
        mapping[header_key(header)] = field_name.strip()
    return mapping


def _text_stream(data: bytes | str) -> TextIO:
    # A NUL is never in a text CSV: it is a spreadsheet (.xlsx), UTF-16 text or
    # binary, and PostgreSQL would refuse to store it in a text column anyway.
    as_bytes = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    nul = as_bytes.find(b"\x00")
    if nul >= 0:
        row = as_bytes.count(b"\n", 0, nul) + 1
        raise FileRefused(
            f"row {row}: the file contains NUL bytes, so it is not a CSV text file (a "
            "spreadsheet or UTF-16 text?): save it as CSV UTF-8"
        )
    if isinstance(data, str):
        return io.StringIO(data.lstrip("\ufeff"))
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return io.StringIO(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise FileRefused("the file is neither UTF-8 nor Windows-1252 text")


@dataclass
class CsvFile:
    headers: list[str]
    rows: list[ParsedRow]  # each with its own errors
    ignored: list[str]  # headers that map to no field


# How often, in rows, read_rows reports its progress (on_rows).
ROWS_PER_REPORT = 500


@dataclass(frozen=True)
class ColumnMatch:
    """What one header of a file is read as: a field, and how it was recognised
    ("name": the field's own name, "alias": one of its aliases, "map": chosen by
    a person), or no field (ignored)."""

    header: str
    key: str  # header_key(header): how column maps name it
    field: str | None
    how: str | None


def _csv_reader(data: bytes | str) -> tuple[Any, list[str]]:
    """A csv reader on the file (dialect sniffed) and its header row."""
    stream = _text_stream(data)
    sample = stream.read(8192)
    stream.seek(0)
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    # strict: a quote opened and never closed is an error, not the rest of the
    # file silently read into one value (issue 18).
    reader = csv.reader(stream, dialect, strict=True)
    try:
        headers = next(reader)
    except StopIteration:
        raise FileRefused("the file is empty: it needs a header row") from None
    except csv.Error as problem:
        raise FileRefused(f"row 1: {problem}") from None
    if not any(header.strip() for header in headers):
        raise FileRefused("row 1 is blank: the file needs a header row naming its columns")
    return reader, headers


def csv_problem(problem: csv.Error) -> str:
    """Python's csv error as a person can act on it."""
    text = str(problem)
    if "unexpected end of data" in text:
        return (
            "a quoted value starts in this row and its closing quote is never found "
            "(an unbalanced quote): nothing was imported"
        )
    return text


def read_headers(data: bytes | str) -> tuple[list[str], int]:
    """The header row and the number of rows with content under it, read as
    read_rows reads them (nothing parsed); FileRefused if the file cannot be read."""
    reader, headers = _csv_reader(data)
    count = 0
    last = reader.line_num
    try:
        for cells in reader:
            last = reader.line_num
            if any(cell.strip() for cell in cells):
                count += 1
    except csv.Error as problem:
        raise FileRefused(f"row {last + 1}: {csv_problem(problem)}") from None
    return headers, count


def columns_match(
    headers: Sequence[str], columns: Sequence[Column], column_map: Mapping[str, str] | None = None
) -> list[ColumnMatch]:
    """Each header's field: the column map's choice first (an empty choice
    ignores the column), else the field whose name or alias it is. Two columns
    recognised as the same field: the first wins, the later one is ignored."""
    fields = {c.field for c in columns}
    by_name = {header_key(c.field): c.field for c in columns}
    by_alias = {header_key(a): c.field for c in columns for a in c.aliases}
    explicit = dict(column_map or {})
    for header, wanted in explicit.items():
        if wanted and wanted not in fields:
            raise FileRefused(
                f"--map sends {header!r} to {wanted!r}, which is not one of: {', '.join(fields)}"
            )
    matches: list[ColumnMatch] = []
    taken: set[str] = set()
    for header in headers:
        key = header_key(header)
        if key in explicit:
            field_name, how = explicit[key] or None, "map"
        elif key in by_name:
            field_name, how = by_name[key], "name"
        elif key in by_alias:
            field_name, how = by_alias[key], "alias"
        else:
            field_name, how = None, None
        if field_name is not None and field_name in taken and how != "map":
            field_name, how = None, None  # an alias of a field already mapped
        if field_name is not None:
            taken.add(field_name)
        matches.append(ColumnMatch(header=header, key=key, field=field_name, how=how))
    return matches


def read_rows(
    data: bytes | str,
    *,
    columns: Sequence[Column],
    column_map: Mapping[str, str] | None = None,
    on_rows: Callable[[int], object] | None = None,
) -> CsvFile:
    """Parse every row, collecting each cell's problems on its row. `on_rows(n)`,
    if given, hears of every ROWS_PER_REPORT rows parsed (and of the rest at the end).

    A column map sends header keys to fields; mapped to "" a column is ignored."""
    reader, headers = _csv_reader(data)
    by_field = {c.field: c for c in columns}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, match in enumerate(columns_match(headers, columns, column_map)):
        if match.field is None:
            if match.header.strip():
                ignored.append(match.header.strip())
            continue
        positions[match.field] = index
    missing = [c.field for c in columns if c.required and c.field not in positions]
    if missing:
        raise FileRefused(
            "row 1: missing required column(s) "
            + ", ".join(missing)
            + f"; found {', '.join(h for h in headers if h.strip()) or 'none'}"
            + " (map other names with --map column=field)"
        )

    rows: list[ParsedRow] = []
    line = 1
    unreported = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            rows.append(_row_parse(line, cells, headers, positions, by_field))
            unreported += 1
            if on_rows is not None and unreported == ROWS_PER_REPORT:
                on_rows(unreported)
                unreported = 0
    except csv.Error as problem:
        raise FileRefused(f"row {line + 1}: {csv_problem(problem)}") from None
    if on_rows is not None and unreported:
        on_rows(unreported)
    return CsvFile(headers=headers, rows=rows, ignored=ignored)


def _row_parse(
    line: int,
    cells: list[str],
    headers: list[str],
    positions: Mapping[str, int],
    by_field: Mapping[str, Column],
) -> ParsedRow:
    raw = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers)}
    parsed = ParsedRow(row=line, values={}, raw=raw)
    extra = [cell for cell in cells[len(headers) :] if cell.strip()]
    if extra:
        # A ragged row: its cells no longer line up with the header (issue 18).
        parsed.errors.append(
            RowError(line, "", extra[0], f"has {len(cells)} cells but the header has "
                     f"{len(headers)} columns: a value is outside every column")
        )  # fmt: skip
    for name, column in by_field.items():
        index = positions.get(name)
        header = headers[index].strip() if index is not None else name
        text = cells[index].strip() if index is not None and index < len(cells) else ""
        if not text:
            if column.required:
                parsed.errors.append(RowError(line, header, "", "is required"))
            parsed.values[name] = None
            continue
        try:
            parsed.values[name] = column.parse(text)
        except ValueError as problem:
            parsed.values[name] = None
            parsed.errors.append(RowError(line, header, text, str(problem)))
    return parsed


# --- Cell parsers: each raises ValueError with a reason a person can act on ------


def text(max_length: int) -> Parser:
    def parse(value: str) -> str:
        cleaned = " ".join(value.split())
        if len(cleaned) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return cleaned

    return parse


_CURRENCY = re.compile(r"^(?:[A-Za-z]{3}\s*|[$€£¥])|(?:\s*[A-Za-z]{3}|[$€£¥])$")


def _decimal(value: str) -> Decimal:
    cleaned = (
        _CURRENCY.sub("", value.strip()).replace(",", "").replace(" ", "").replace("\u00a0", "")
    )
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError("is not an amount") from None
    if not amount.is_finite():
        raise ValueError("is not an amount")
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


# The largest amount (exclusive) and whole number (inclusive) a cell may hold:
# what the smallest column each goes into stores (a DecimalField of 14 digits
# with 2 decimals, spend's; PostgreSQL's integer).
AMOUNT_LIMIT = Decimal(10) ** 12
WHOLE_NUMBER_MAX = 2**31 - 1


def decimal_amount(value: str) -> Decimal:
    """`$1,234.50`, `1 234.50`, `USD 1234.5` -> Decimal("1234.50"); never negative."""
    amount = _decimal(value)
    # Checked before quantize, which fails on a number this size.
    if amount >= AMOUNT_LIMIT:
        raise ValueError(f"is too large (the most is {AMOUNT_LIMIT - Decimal('0.01'):,})")
    return amount.quantize(Decimal("0.01"))


def whole_number(value: str) -> int:
    amount = _decimal(value)
    if amount > WHOLE_NUMBER_MAX:
        raise ValueError(f"is too large (the most is {WHOLE_NUMBER_MAX:,})")
    if amount != amount.to_integral_value():
        raise ValueError("is not a whole number")
    return int(amount)


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",  # US, as HubSpot and Salesforce export by default
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)


# The product's range of calendar dates (a deal's, a spend line's): a date
# like 9999-12-31 is a typo or a placeholder, and the date arithmetic of the
# reports (a close date plus a window) would leave Python's calendar (issue
# 18). Activity times follow the tracking API's policy instead (`timestamp`).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)
_OUT_OF_RANGE = f"is out of range (dates from {DATE_MIN} to {DATE_MAX})"


def dates_out_of_range(**days: dt.date | None) -> dict[str, str]:
    """The given days outside DATE_MIN..DATE_MAX, each with why: the models'
    `clean()` (campaigns, programs, spend, opportunities) apply the same range
    to the API and the pages as the CSV cells get here (issue 18)."""
    return {
        name: _OUT_OF_RANGE.replace("is out", "Out", 1)
        for name, day in days.items()
        if day is not None and not DATE_MIN <= day <= DATE_MAX
    }


def date(value: str) -> dt.date:
    """ISO dates and the common CRM formats; a time part, if any, is dropped."""
    parsed = _date_read(value)
    if not DATE_MIN <= parsed <= DATE_MAX:
        raise ValueError(_OUT_OF_RANGE)
    return parsed


def _date_read(value: str) -> dt.date:
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    head = text.split(" ")[0] if re.match(r"^\d", text) else text
    for pattern in _DATE_FORMATS:
        for candidate in (text, head):
            try:
                return dt.datetime.strptime(candidate, pattern).date()
            except ValueError:
                continue
    raise ValueError("is not a date (use YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY)")


def timestamp(value: str) -> dt.datetime:
    """ISO date-times (UTC when no offset) or a date, read as midnight UTC."""
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for pattern in ("%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d.%m.%Y %H:%M"):
            try:
                parsed = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            parsed = dt.datetime.combine(_date_read(value), dt.time())
    # No range here: an activity's time is settled by the tracking API's policy
    # (engagement.tracking.activity_time: a time ahead is stored at receipt, one
    # before 1970 refused), which the activities import applies.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_TRUE = {"1", "true", "yes", "y", "t", "x"}
_FALSE = {"0", "false", "no", "n", "f"}


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("is not yes/no, true/false or 1/0")


def choice(options: Iterable[str], aliases: Mapping[str, str] | None = None) -> Parser:
    """Case- and spacing-insensitive choice: `Paid Social` -> `paid_social`."""
    valid = tuple(options)
    folded_aliases = {header_key(k): v for k, v in (aliases or {}).items()}

    def parse(value: str) -> str:
        key = header_key(value)
        if key in folded_aliases:
            return folded_aliases[key]
        if key in valid:
            return key
        raise ValueError(f"is not one of: {', '.join(valid)}")

    return parse


def rows_with_errors_csv(rows: Iterable[ParsedRow], headers: Sequence[str]) -> str:
    """The rejected rows as a CSV a person can fix and re-import: original columns
    plus an `errors` column."""
    return rejects_csv(
        headers,
        (([row.raw.get(h, "") for h in headers], row_errors_text(row)) for row in rows),
    )


def row_errors_text(row: ParsedRow) -> str:
    """A rejected row's errors in one cell."""
    return "; ".join(map(str, row.errors))


# A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell_neutralise(value: str) -> str:
    """OWASP's defence against CSV injection: a cell a spreadsheet would run as a
    formula gets a leading apostrophe, so it is shown as text."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def rejects_csv(
    headers: Sequence[str],
    rows: Iterable[tuple[Sequence[str], str]],
    *,
    neutralise: bool = False,
) -> str:
    """Rows (their cells as uploaded, their errors) under the file's headers and
    an `errors` column. `neutralise` for a file a person opens in a spreadsheet
    (a download from a page); without it, the cells stay as they came."""
    clean = csv_cell_neutralise if neutralise else str
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([clean(h) for h in [*headers, "errors"]])
    for cells, errors in rows:
        writer.writerow([clean(cell) for cell in [*cells, errors]])
    return out.getvalue()


@dataclass
class Prepared:
    """Rows ready to write: one record per valid row, keyed like the model."""

    records: list[tuple[ParsedRow, dict[str, Any]]]


def duplicate_keys_flag(rows: Iterable[tuple[ParsedRow, Any]], *, column: str, what: str) -> None:
    """A natural key twice in one file is an error on the later row, not a silent overwrite."""
    first_seen: dict[Any, int] = {}
    for row, key in rows:
        if key is None or row.errors:
            continue
        if key in first_seen:
            row.errors.append(
                RowError(row.row, column, str(key), f"same {what} as row {first_seen[key]}")
            )
        else:
            first_seen[key] = row.row
