"""CSV import kind owned by campaigns: spend lines. (The registry of all kinds
is `imports.services.IMPORT_KINDS`.)"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.db.models.functions import Lower

from accounts.imports import lookup_chunks
from campaigns.models import Program
from core import csvimport
from core.csvimport import Column, ParsedRow, RowError

SPEND_COLUMNS = (
    Column("program", csvimport.text(200), required=True,
           aliases=("program_key", "tracking_key", "utm_campaign", "program_name", "campaign")),
    Column("spent_on", csvimport.date, required=True,
           aliases=("date", "day", "spend_date", "invoice_date")),
    Column("amount", csvimport.decimal_amount, required=True, aliases=("cost", "spend", "total")),
    Column("currency", csvimport.text(3), aliases=("currency_code",)),
    Column("description", csvimport.text(200), aliases=("memo", "line_item", "item", "note")),
    Column("external_id", csvimport.text(100), aliases=("id", "line_id", "invoice_line_id")),
)  # fmt: skip


def prepare_spend(rows: Sequence[ParsedRow]) -> list[tuple[ParsedRow, dict[str, Any]]]:
    """Spend lines name their program by tracking key or by name."""
    wanted = sorted({str(v).lower() for r in rows if (v := r.values.get("program"))})
    programs: dict[str, int] = {}
    for chunk in lookup_chunks(wanted):
        programs.update(
            Program.objects.filter(tracking_key__in=chunk).values_list("tracking_key", "id")
        )
        for name, pk in (
            Program.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=chunk)
            .values_list("lower_name", "id")
        ):
            programs.setdefault(name, pk)
    prepared = []
    occurrences: dict[tuple[Any, ...], int] = {}
    for row in rows:
        values = dict(row.values)
        program = values.pop("program")
        values["program_id"] = programs.get(program.lower()) if program else None
        if program and values["program_id"] is None:
            row.errors.append(
                RowError(row.row, "program", program, "no program with this tracking key or name")
            )
        values["currency"] = (values["currency"] or "USD").upper()
        if not values["external_id"]:
            # Identical lines on one day are distinct spend: number them in file order.
            line = (values["program_id"], values["spent_on"], values["amount"],
                    values["currency"], values["description"])  # fmt: skip
            occurrences[line] = occurrences.get(line, 0) + 1
            digest = hashlib.sha256(repr((*line, occurrences[line])).encode()).hexdigest()[:40]
            values["external_id"] = f"csv-{digest}"
        prepared.append((row, values))
    csvimport.duplicate_keys_flag(((r, v["external_id"]) for r, v in prepared),
                                  column="external_id", what="spend line id")  # fmt: skip
    return [(row, v) for row, v in prepared if not row.errors]
