"""check_entry / check_rdn: each violation maps to its RFC 4511 result code."""

from __future__ import annotations

import pytest

from ixidir.dn import DN
from ixidir.errors import (
    AttributeOrValueExists,
    ConstraintViolation,
    InvalidAttributeSyntax,
    LDAPError,
    NamingViolation,
    ObjectClassViolation,
    ResultCode,
    UndefinedAttributeType,
)
from ixidir.schema import Schema

Entry = dict[str, list[bytes]]


def person(**extra: list[bytes]) -> Entry:
    entry: Entry = {
        "objectClass": [b"top", b"inetOrgPerson", b"ixiUmsUser"],
        "cn": [b"Alice Smith"],
        "sn": [b"Smith"],
        "mail": [b"alice@example.com"],
    }
    entry.update(extra)
    return entry


def test_valid_user_returns_structural_class(schema: Schema) -> None:
    entry = person(
        facsimileTelephoneNumber=[b"+49 8142 4799123"],
        ixiFaxPermission=[b"National"],
        ixiFaxInboundFormat=[b"tif", b"PDF"],
        ixiCanonicalNumber=[b"4981424799123"],
    )
    assert schema.check_entry(entry).name == "inetOrgPerson"


def test_superclasses_need_not_be_listed(schema: Schema) -> None:
    entry = person(objectClass=[b"2.16.840.1.113730.3.2.2"])
    assert schema.check_entry(entry).name == "inetOrgPerson"


@pytest.mark.parametrize(
    ("entry_change", "error", "message"),
    [
        ({"objectClass": []}, ObjectClassViolation, "objectClass"),
        ({"objectClass": [b"inetOrgPerson", b"noSuchClass"]}, ObjectClassViolation, "noSuchClass"),
        ({"objectClass": [b"ixiUmsUser"]}, ObjectClassViolation, "structural"),
        ({"objectClass": [b"inetOrgPerson", b"device"]}, ObjectClassViolation, "device"),
        ({"sn": []}, ObjectClassViolation, "'sn'"),
        ({"dc": [b"example"]}, ObjectClassViolation, "'dc'"),
        ({"company": [b"ACME"]}, ObjectClassViolation, "'company'"),
        ({"noSuchAttr": [b"x"]}, UndefinedAttributeType, "noSuchAttr"),
        ({"ixiVipUser": [b"TRUE", b"FALSE"]}, ConstraintViolation, "ixiVipUser"),
        ({"ixiVipUser": [b"yes"]}, InvalidAttributeSyntax, "ixiVipUser"),
        ({"mail": [b"m\xc3\xbcller@example.com"]}, InvalidAttributeSyntax, "mail"),
        ({"ixiFaxPermission": [b"galactic"]}, InvalidAttributeSyntax, "ixiFaxPermission"),
        ({"ixiFaxMaxPriority": [b"3"]}, ConstraintViolation, "ixiFaxMaxPriority"),
        ({"ixiFaxMaxPages": [b"0"]}, ConstraintViolation, "ixiFaxMaxPages"),
        ({"cn": [b"Alice", b"ALICE  "]}, AttributeOrValueExists, "cn"),
        ({"telephoneNumber": [b"+49 1", b"+49-1"]}, AttributeOrValueExists, "telephoneNumber"),
    ],
)
def test_violations_raise_their_result_code(
    schema: Schema, entry_change: Entry, error: type[LDAPError], message: str
) -> None:
    entry = person()
    entry.update(entry_change)
    if entry_change.get("sn") == []:
        del entry["sn"]
    with pytest.raises(error, match=message):
        schema.check_entry(entry)


def test_missing_must_names_class_and_attribute(schema: Schema) -> None:
    entry = person()
    del entry["sn"]
    with pytest.raises(ObjectClassViolation) as caught:
        schema.check_entry(entry)
    assert caught.value.result_code == ResultCode.OBJECT_CLASS_VIOLATION
    assert "'sn'" in caught.value.message


def test_auxiliary_class_allows_company(schema: Schema) -> None:
    entry = person(company=[b"ACME"], department=[b"Sales"])
    entry["objectClass"].append(b"ixiOrgPerson")
    schema.check_entry(entry)


def test_extensible_object_allows_any_user_attribute(schema: Schema) -> None:
    entry = person(dc=[b"example"], company=[b"ACME"])
    entry["objectClass"].append(b"extensibleObject")
    schema.check_entry(entry)


def test_operational_attributes_are_exempt_from_may(schema: Schema) -> None:
    entry = person(
        createTimestamp=[b"20240101000000Z"],
        entryUUID=[b"597ae2f6-16a6-1027-98f4-abcdefabcdef"],
        ixiVmPinFailedCount=[b"2"],
    )
    schema.check_entry(entry)


def test_server_defaults_entry_with_application_process(schema: Schema) -> None:
    entry: Entry = {
        "objectClass": [b"applicationProcess", b"ixiUmsServerDefaults"],
        "cn": [b"ums-defaults"],
        "ixiSiteCountryCode": [b"49"],
        "ixiSiteAreaCode": [b"8142"],
        "ixiFaxDailyLimitMode": [b"custom"],
        "ixiFaxDailyLimit": [b"100"],
        "ixiDailyLimitTimeZone": [b"Europe/Berlin"],
    }
    assert schema.check_entry(entry).name == "applicationProcess"


def test_cross_attribute_rule_is_checked(schema: Schema) -> None:
    with pytest.raises(ConstraintViolation, match="ixiSmsDailyLimitMode=custom"):
        schema.check_entry(person(ixiSmsDailyLimit=[b"5"]))


def test_rdn_value_must_be_in_entry(schema: Schema) -> None:
    entry = person()
    schema.check_rdn(DN.parse("CN=alice  SMITH,ou=people,dc=example,dc=com"), entry)
    schema.check_rdn(DN.parse("cn=Alice Smith+mail=ALICE@example.com,dc=com"), entry)
    with pytest.raises(NamingViolation, match="cn"):
        schema.check_rdn(DN.parse("cn=Bob,dc=com"), entry)
    with pytest.raises(NamingViolation, match="uid"):
        schema.check_rdn(DN.parse("uid=alice,dc=com"), entry)


def test_rdn_attribute_needs_an_equality_rule(schema: Schema) -> None:
    entry = person(jpegPhoto=[b"\xff\xd8"])
    with pytest.raises(NamingViolation, match="equality"):
        schema.check_rdn(DN.parse("jpegPhoto=x,dc=com"), entry)


def test_a_modify_revalidates_only_the_attributes_it_changed(schema: Schema) -> None:
    """Values left as stored passed the checks when stored; a changed attribute is checked."""
    stored = person(ixiVipUser=[b"yes"])  # as if stored under an older, laxer schema
    changed = person(ixiVipUser=[b"yes"], description=[b"new"])
    assert schema.check_entry(changed, stored=stored).name == "inetOrgPerson"
    with pytest.raises(InvalidAttributeSyntax, match="ixiVipUser"):
        schema.check_entry(changed)  # a whole check still refuses it
    with pytest.raises(InvalidAttributeSyntax, match="ixiFaxPermission"):
        schema.check_entry(person(ixiFaxPermission=[b"galactic"]), stored=stored)
    with pytest.raises(AttributeOrValueExists, match="cn"):
        schema.check_entry(person(cn=[b"Alice", b"ALICE  "]), stored=stored)
    with pytest.raises(ObjectClassViolation, match="'company'"):  # class rules: every attribute
        schema.check_entry(person(company=[b"ACME"]), stored=person(company=[b"ACME"]))
