"""RFC 4518 string preparation: map, NFKC, prohibit, insignificant space and telephone handling."""

from __future__ import annotations

import unicodedata

# RFC 4518 §2.2 Map: code points mapped to nothing (soft hyphens, joiners, variation selectors,
# the object replacement character, zero width space, and every other control / format code).
_TO_NOTHING = [
    0x00AD, 0x1806, 0x034F, 0x180B, 0x180C, 0x180D, 0xFFFC, 0x200B, 0x06DD, 0x070F, 0x180E, 0xFEFF,
    *range(0x0000, 0x0009), *range(0x000E, 0x0020), *range(0x007F, 0x0085),
    *range(0x0086, 0x00A0), *range(0xFE00, 0xFE10), *range(0x200C, 0x2010),
    *range(0x202A, 0x202F), *range(0x2060, 0x2064), *range(0x206A, 0x2070),
    *range(0xFFF9, 0xFFFC), *range(0x1D173, 0x1D17B), 0xE0001, *range(0xE0020, 0xE0080),
]  # fmt: skip
# RFC 4518 §2.2: CHARACTER TABULATION..CARRIAGE RETURN, NEXT LINE and all other separators
# (Unicode Zs, Zl, Zp) are mapped to SPACE.
_TO_SPACE = [
    *range(0x0009, 0x000E), 0x0085, 0x00A0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
    0x202F, 0x205F, 0x3000,
]  # fmt: skip
_MAP: dict[int, str | None] = {cp: None for cp in _TO_NOTHING} | {cp: " " for cp in _TO_SPACE}
_ASCII_MAP: dict[int, str | None] = {cp: v for cp, v in _MAP.items() if cp < 0x80}
# RFC 4518 §2.6.3: hyphens (HYPHEN-MINUS, ARMENIAN HYPHEN, HYPHEN, NON-BREAKING HYPHEN,
# MINUS SIGN, SMALL HYPHEN-MINUS, FULLWIDTH HYPHEN-MINUS) and spaces are insignificant in
# telephone numbers. Other dashes (U+2012..U+2015, U+FE58) are not on the RFC's list and stay.
TELEPHONE_HYPHENS = "\u002d\u058a\u2010\u2011\u2212\ufe63\uff0d"
_TEL_REMOVE: dict[int, str | None] = {ord(c): None for c in TELEPHONE_HYPHENS + " "}
_PROHIBITED_CATEGORIES = frozenset({"Co", "Cs", "Cn"})


def map_and_normalize(text: str, *, fold: bool) -> str:
    """RFC 4518 §2.2-2.4: map, optional case fold, NFKC, then refuse prohibited code points."""
    if text.isascii():
        if not text.isprintable():
            text = text.translate(_ASCII_MAP)
        return text.lower() if fold else text
    text = unicodedata.normalize("NFKC", text.translate(_MAP))
    if fold:
        # RFC 3454 table B.2 folds the NFKC closure; NFKC, fold, NFKC gets the same fixed point
        # (plain casefold first would leave compatibility capitals such as U+1D56C upper case).
        text = unicodedata.normalize("NFKC", text.casefold())
    for char in text:
        # §2.4: unassigned, private use, surrogates and REPLACEMENT CHARACTER are prohibited.
        if char == "\ufffd" or unicodedata.category(char) in _PROHIBITED_CATEGORIES:
            raise ValueError(f"prohibited character U+{ord(char):04X}")
    return text


def prepare_string(value: bytes, *, fold: bool) -> str:
    """caseIgnoreMatch (fold) and caseExactMatch preparation of a UTF-8 value."""
    text = map_and_normalize(value.decode("utf-8"), fold=fold)
    return " ".join(text.split()) if " " in text else text


def prepare_piece(value: bytes, role: str, *, fold: bool) -> str:
    """A substring piece: inner runs collapse, but one space is kept at an edge that touches
    another piece (RFC 4518 §2.6.1), so `John *` does not match `Johnny`."""
    text = map_and_normalize(value.decode("utf-8"), fold=fold)
    core = " ".join(text.split())
    if not core:
        return " " if role == "any" and text else ""
    if role in ("initial", "any") and text.endswith(" "):
        core += " "
    if role in ("final", "any") and text.startswith(" "):
        core = " " + core
    return core


def prepare_ia5(value: bytes, *, fold: bool) -> str:
    """caseIgnoreIA5Match / caseExactIA5Match: ASCII only, then the same space handling."""
    if not value.isascii():
        raise ValueError("not an IA5 string")
    return prepare_string(value, fold=fold)


def prepare_ia5_piece(value: bytes, role: str, *, fold: bool) -> str:
    if not value.isascii():
        raise ValueError("not an IA5 string")
    return prepare_piece(value, role, fold=fold)


def prepare_telephone(value: bytes) -> str:
    """telephoneNumberMatch: RFC 4518 §2.6.3 plus ixidir's rule that a `$param` suffix
    (Facsimile Telephone Number, RFC 4517 §3.3.11) is ignored; `$` is never part of a
    Telephone Number value, so the cut is harmless there."""
    text = value.decode("utf-8")
    cut = text.find("$")
    if cut >= 0:
        text = text[:cut]
    text = map_and_normalize(text, fold=False)
    return text.translate(_TEL_REMOVE)


def prepare_telephone_piece(value: bytes, role: str) -> str:
    return prepare_telephone(value)


def prepare_numeric(value: bytes) -> str:
    """numericStringMatch (RFC 4518 §2.6.2): spaces are insignificant, digits only remain."""
    text = value.decode("ascii").replace(" ", "")
    if not text.isdigit() and text:
        raise ValueError("not a numeric string")
    return text


def prepare_numeric_piece(value: bytes, role: str) -> str:
    return prepare_numeric(value)
