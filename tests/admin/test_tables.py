"""Tables: tab-separated values with one header line for scripts, a drawn table on a terminal."""

from __future__ import annotations

import io

from ixidir.admin.tables import print_table


class Terminal(io.StringIO):
    """Standard output as a person sees it."""

    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_header_line_and_tab_separated_rows() -> None:
    out = io.StringIO()
    print_table(("uid", "note"), [("alice", "two\tparts\nand lines"), ("bob", "")], out)
    assert out.getvalue().splitlines() == ["uid\tnote", "alice\ttwo parts and lines", "bob\t"]


def test_a_terminal_gets_a_drawn_table_with_values_as_plain_text() -> None:
    out = Terminal()
    print_table(("uid", "mail"), [("alice", "[bold]x[/bold]")], out, caption="1 users")
    text = out.getvalue()
    assert "\t" not in text
    assert "[bold]x[/bold]" in text  # data, not markup
    assert "1 users" in text
