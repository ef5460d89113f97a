"""docs/imports.md lists every column the importer recognises, under its kind."""

from pathlib import Path

from imports.services import IMPORT_KINDS

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "imports.md").read_text()


def test_every_kind_column_and_alias_is_documented() -> None:
    sections = DOCS.split("### `")[1:]
    documented = {section.split("`", 1)[0]: section for section in sections}
    assert set(documented) == set(IMPORT_KINDS)
    for kind, spec in IMPORT_KINDS.items():
        for column in spec.columns:
            row = next(
                (
                    line
                    for line in documented[kind].splitlines()
                    if line.startswith(f"| `{column.field}` |")
                ),
                None,
            )
            assert row is not None, f"{kind}.{column.field} is not documented"
            assert ("| yes |" in row) == column.required, f"{kind}.{column.field} required flag"
            for alias in column.aliases:
                assert f"`{alias}`" in row, f"{kind}.{column.field}: alias {alias} missing"
