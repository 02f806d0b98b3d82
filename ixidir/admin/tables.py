"""Tables and records on standard output: drawn for a person at a terminal, tab-separated
values with one header line for a script (a pipe or a file), as `ixidir user list` began doing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO, *, caption: str = ""
) -> None:
    """Every row under `columns`; cells are plain text, never rich markup."""
    if not out.isatty():
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(_tsv_field(cell) for cell in row) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(caption=caption or None)
    for column in columns:
        table.add_column(column, overflow="fold")  # never cut an address or a number short
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    Console(file=out).print(table)


def print_record(heading: tuple[str, str], fields: Sequence[tuple[str, str]], out: TextIO) -> None:
    """One thing's fields: `name: value` lines under the heading's value at a terminal; for a
    script the same header line and one row as a table with a single row."""
    if not out.isatty():
        print_table([heading[0], *(name for name, _ in fields)],
                    [[heading[1], *(value for _, value in fields)]], out)  # fmt: skip
        return
    width = max(len(name) for name, _ in fields) + 5
    lines = [heading[1], *(f"{name + ':':<{width}}{value}" for name, value in fields)]
    out.write("\n".join(lines) + "\n")


def _tsv_field(text: str) -> str:
    """Tabs and line breaks inside a value would break the TSV row: spaces instead."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
