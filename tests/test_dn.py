"""DNs: RFC 4514 parsing, string form, and the fast path agreeing with the full parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.dn import DN, _Parser
from ixidir.errors import InvalidDNSyntax

_pieces = st.sampled_from(["cn", "ou", "dc", "uid", "2.5.4.3", "=", ",", "+", " ", "\\", "#", "x"])
_texts = st.one_of(st.lists(_pieces, max_size=14).map("".join), st.text(max_size=30))


def full_parse(text: str) -> DN | str:
    try:
        return DN(tuple(_Parser(text).parse()))
    except InvalidDNSyntax:
        return "invalid"


def parse(text: str) -> DN | str:
    try:
        return DN.parse(text)
    except InvalidDNSyntax:
        return "invalid"


@given(_texts)
def test_fast_path_agrees_with_the_full_parser(text: str) -> None:
    assert parse(text) == full_parse(text)


@given(_texts)
def test_the_kept_text_is_the_string_form(text: str) -> None:
    """The fast path keeps the text as the DN's string form: it must be what the RDNs give."""
    dn = parse(text)
    if isinstance(dn, DN):
        assert str(dn) == ",".join(str(rdn) for rdn in dn.rdns) == str(full_parse(text))


@given(
    st.lists(
        st.tuples(st.sampled_from(["cn", "ou", "uid"]), st.text(min_size=1, max_size=12)),
        min_size=1,
        max_size=5,
    )
)
def test_string_form_parses_back(pairs: list[tuple[str, str]]) -> None:
    text = ",".join(f"{attr}={value}" for attr, value in pairs)
    dn = parse(text)
    if isinstance(dn, DN):
        assert DN.parse(str(dn)) == dn


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("uid=jm,ou=people,dc=example,dc=com", ["jm", "people", "example", "com"]),
        ("cn=M\\C3\\BCller\\, J.,dc=com", ["Müller, J.", "com"]),
        ("cn = spaced , dc=com", ["spaced", "com"]),
    ],
)
def test_values_are_unescaped(text: str, values: list[str]) -> None:
    assert [rdn.avas[0].value for rdn in DN.parse(text).rdns] == values


@pytest.mark.parametrize("text", ["cn", "=x", "cn=a,", "cn=\\zz", 'cn="q"', "cn=a;;dc=b"])
def test_malformed_dns_are_invalid_dn_syntax(text: str) -> None:
    with pytest.raises(InvalidDNSyntax):
        DN.parse(text)
