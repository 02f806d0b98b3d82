"""RFC 4515 filter strings: parsing, errors with positions, and the format/parse round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ixidir.directory.filter import (
    And,
    Approx,
    Equality,
    Extensible,
    Filter,
    GreaterOrEqual,
    LessOrEqual,
    Not,
    Or,
    Present,
    Substrings,
)
from ixidir.directory.filtertext import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    FilterSyntaxError,
    format_filter,
    parse_filter,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(cn=Alice)", Equality("cn", b"Alice")),
        ("(cn~=Alice)", Approx("cn", b"Alice")),
        ("(ixiFaxMaxPages>=10)", GreaterOrEqual("ixiFaxMaxPages", b"10")),
        ("(ixiFaxMaxPages<=10)", LessOrEqual("ixiFaxMaxPages", b"10")),
        ("(mail=*)", Present("mail")),
        ("(cn=*smi*)", Substrings("cn", None, (b"smi",), None)),
        ("(cn=a*b*c*d)", Substrings("cn", b"a", (b"b", b"c"), b"d")),
        ("(cn=Al*)", Substrings("cn", b"Al", (), None)),
        ("(cn=*ce)", Substrings("cn", None, (), b"ce")),
        ("(cn;lang-de=Straße)", Equality("cn;lang-de", "Straße".encode())),
        ("(2.5.4.3=x)", Equality("2.5.4.3", b"x")),
        ("(&)", And(())),
        ("(|)", Or(())),
        ("(!(cn=a))", Not(Equality("cn", b"a"))),
        ("cn=bare", Equality("cn", b"bare")),
        ("  (cn=a)  ", Equality("cn", b"a")),
    ],
)
def test_simple_items_parse_to_their_filter(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


def test_nested_and_or_not_keep_their_structure() -> None:
    text = "(&(objectClass=inetOrgPerson)(|(mail=x@example.com)(!(uid=a)))(cn=*))"
    assert parse_filter(text) == And(
        (
            Equality("objectClass", b"inetOrgPerson"),
            Or((Equality("mail", b"x@example.com"), Not(Equality("uid", b"a")))),
            Present("cn"),
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(cn:caseExactMatch:=Alice)", Extensible("caseExactMatch", "cn", b"Alice")),
        ("(ou:dn:=people)", Extensible(None, "ou", b"people", dn_attributes=True)),
        ("(cn:DN:2.5.13.5:=x)", Extensible("2.5.13.5", "cn", b"x", dn_attributes=True)),
        ("(:caseIgnoreMatch:=x)", Extensible("caseIgnoreMatch", None, b"x")),
        ("(:dn:2.5.13.5:=x)", Extensible("2.5.13.5", None, b"x", dn_attributes=True)),
        ("(cn:=x)", Extensible(None, "cn", b"x")),
        ("(cn:dnQualifierMatch:=x)", Extensible("dnQualifierMatch", "cn", b"x")),
    ],
)
def test_extensible_forms_parse(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r"(cn=\2a)", b"*"),
        (r"(cn=a\28b\29)", b"a(b)"),
        (r"(cn=\5c\00)", b"\\\x00"),
        (r"(cn=\ff\FE)", b"\xff\xfe"),
        ("(cn=Jürgen)", "Jürgen".encode()),
        (r"(cn=J\c3\bcrgen)", "Jürgen".encode()),
        (r"(cn=\*)", b"*"),  # RFC 2254 style escape, still accepted
    ],
)
def test_escapes_and_utf8_become_bytes(text: str, value: bytes) -> None:
    assert parse_filter(text) == Equality("cn", value)


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "empty filter"),
        ("(cn=a", 5, "expected ')'"),
        ("((cn=a))", 1, "attribute description"),
        ("(cn=a(b)", 5, "must be escaped"),
        ("(cn=**)", 5, "empty substring"),
        ("(cn=\\zz)", 4, "two hex digits"),
        ("(cn=\\4)", 4, "two hex digits"),
        ("(:=x)", 1, "attribute or a matching rule"),
        ("(cn~x)", 3, "expected '='"),
        ("(cn:1rule:=x)", 4, "matching rule"),
        ("(cn:caseExactMatch=x)", 18, "':='"),
        ("(cn=a))", 6, "after the filter"),
        ("(&(cn=a)x)", 8, "expected ')'"),
        ("(!)", 2, "expected '('"),
        ("(c_n=a)", 2, "expected '='"),
    ],
)
def test_syntax_errors_name_position_and_reason(text: str, position: int, reason: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse_filter(text)
    assert caught.value.position == position
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_nesting_beyond_the_limit_is_refused() -> None:
    deep = "(!" * (MAX_FILTER_DEPTH + 1) + "(cn=a)" + ")" * (MAX_FILTER_DEPTH + 1)
    with pytest.raises(FilterSyntaxError, match="nested deeper"):
        parse_filter(deep)


def test_nesting_at_the_limit_is_accepted() -> None:
    text = "(!" * MAX_FILTER_DEPTH + "(cn=a)" + ")" * MAX_FILTER_DEPTH
    assert isinstance(parse_filter(text), Not)


def test_overlong_filter_is_refused_before_parsing() -> None:
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse_filter("(cn=" + "a" * MAX_FILTER_LENGTH + ")")


@pytest.mark.parametrize(
    ("f", "text"),
    [
        (Equality("cn", b"a*b(c)\\\x00"), r"(cn=a\2ab\28c\29\5c\00)"),
        (Equality("cn", b"\xff" + "ü".encode()), r"(cn=\ffü)"),
        (Substrings("cn", b"x", (b"y",), None), "(cn=x*y*)"),
        (Extensible("2.5.13.5", None, b"v", dn_attributes=True), "(:dn:2.5.13.5:=v)"),
        (And((Present("cn"), Not(Or(())))), "(&(cn=*)(!(|)))"),
    ],
)
def test_format_escapes_per_rfc_4515(f: Filter, text: str) -> None:
    assert format_filter(f) == text


@pytest.mark.parametrize(
    "f",
    [
        Substrings("cn", None, (), None),
        Substrings("cn", b"", (b"x",), None),
        Substrings("cn", None, (b"",), None),
        Equality("c n", b"x"),
        Extensible(None, None, b"x"),
        Extensible("dn", "cn", b"x"),
        Extensible("bad rule", "cn", b"x"),
    ],
)
def test_format_refuses_filters_the_string_form_cannot_carry(f: Filter) -> None:
    with pytest.raises(ValueError, match=r"."):
        format_filter(f)


# --- round trip --------------------------------------------------------------------------------

_descr = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,8}\Z")
_numericoid = st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){1,4}\Z")
_options = st.lists(st.from_regex(r"\A[A-Za-z0-9-]{1,6}\Z"), max_size=2)
_attrs = st.builds(
    lambda oid, options: ";".join([oid, *options]), st.one_of(_descr, _numericoid), _options
)
_rules = st.one_of(_descr, _numericoid).filter(lambda rule: rule.lower() != "dn")
_values = st.one_of(st.binary(max_size=12), st.text(max_size=8).map(lambda s: s.encode()))
_pieces = _values.filter(bool)


def _filters(children: st.SearchStrategy[Filter]) -> st.SearchStrategy[Filter]:
    children_tuple = st.lists(children, max_size=4).map(tuple)
    return st.one_of(
        st.builds(And, children_tuple),
        st.builds(Or, children_tuple),
        st.builds(Not, children),
    )


_items: st.SearchStrategy[Filter] = st.one_of(
    st.builds(Equality, _attrs, _values),
    st.builds(Approx, _attrs, _values),
    st.builds(GreaterOrEqual, _attrs, _values),
    st.builds(LessOrEqual, _attrs, _values),
    st.builds(Present, _attrs),
    st.builds(
        Substrings,
        _attrs,
        st.none() | _pieces,
        st.lists(_pieces, max_size=3).map(tuple),
        st.none() | _pieces,
    ).filter(lambda s: s.initial is not None or bool(s.any) or s.final is not None),
    st.builds(Extensible, st.none() | _rules, st.none() | _attrs, _values, st.booleans()).filter(
        lambda e: e.rule is not None or e.attr is not None
    ),
)
filters = st.recursive(_items, _filters, max_leaves=12)


@given(filters)
def test_format_then_parse_gives_the_same_filter(f: Filter) -> None:
    assert parse_filter(format_filter(f)) == f


@given(st.text(alphabet="()&|!=*~<>:\\aAbc0;-. ", max_size=30))
def test_arbitrary_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    error: FilterSyntaxError | None = None
    try:
        f = parse_filter(text)
    except FilterSyntaxError as raised:
        error = raised
    if error is None:
        assert parse_filter(format_filter(f)) == f
    else:
        assert 0 <= error.position <= len(text)
