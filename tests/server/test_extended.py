"""Extended-operation value codecs (RFC 3062) and the OID table."""

from __future__ import annotations

import pytest
from ldap3.extend.standard.modifyPassword import PasswdModifyRequestValue
from ldap3.utils.asn1 import encode

from ixidir.errors import ProtocolError
from ixidir.server.extended import (
    PASSWORD_MODIFY_OID,
    START_TLS_OID,
    WHO_AM_I_OID,
    decode_passwd_modify,
    find_handler,
    standard_handlers,
)


def _ldap3_value(**fields: bytes) -> bytes:
    value = PasswdModifyRequestValue()
    for name, data in fields.items():
        value[name] = data
    encoded: bytes = encode(value)
    return encoded


def test_password_modify_value_from_ldap3_decodes_every_field() -> None:
    data = _ldap3_value(userIdentity=b"uid=a,dc=x", oldPasswd=b"old", newPasswd=b"new")
    assert decode_passwd_modify(data) == {0x80: b"uid=a,dc=x", 0x81: b"old", 0x82: b"new"}


def test_password_modify_value_may_be_absent_or_empty() -> None:
    assert decode_passwd_modify(None) == {}
    assert decode_passwd_modify(b"\x30\x00") == {}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x04\x00", id="not-a-sequence"),
        pytest.param(b"\x30\x03\x83\x01x", id="unknown-field"),
        pytest.param(b"\x30\x06\x82\x01x\x80\x01y", id="out-of-order"),
        pytest.param(b"\x30\x06\x80\x01x\x80\x01y", id="repeated"),
        pytest.param(b"\x30\x05\x80\x01x", id="truncated"),
        pytest.param(b"\x30\x00\x00", id="trailing-bytes"),
    ],
)
def test_malformed_password_modify_values_are_protocol_errors(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_passwd_modify(data)


def test_standard_table_holds_the_three_operations_and_refuses_others() -> None:
    handlers = standard_handlers()
    assert set(handlers) == {WHO_AM_I_OID, PASSWORD_MODIFY_OID, START_TLS_OID}
    with pytest.raises(ProtocolError, match="unsupported extended operation"):
        find_handler(handlers, "2.25.1")
