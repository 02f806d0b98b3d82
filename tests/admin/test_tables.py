"""Tables: tab-separated values with one header line for scripts, a drawn table on a terminal."""

from __future__ import annotations

import io

from ixidir.admin.tables import print_record, print_table


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


def test_a_record_is_name_value_lines_at_a_terminal_and_one_row_for_a_script() -> None:
    fields = [("PIN", "set"), ("wrong PINs", "0 of 3")]
    terminal = Terminal()
    print_record(("user", "uid=a,dc=x"), fields, terminal)
    assert terminal.getvalue() == "uid=a,dc=x\nPIN:           set\nwrong PINs:    0 of 3\n"
    piped = io.StringIO()
    print_record(("user", "uid=a,dc=x"), fields, piped)
    assert piped.getvalue() == "user\tPIN\twrong PINs\nuid=a,dc=x\tset\t0 of 3\n"
