"""LDAP result codes (RFC 4511 §4.1.9, Appendix A) and the one exception tree the core raises.

Every expected failure in the core is an `LDAPError` subclass carrying its result code; the server
adapter turns it into the operation's response in exactly one place (`ixidir/server/results.py`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ResultCode(IntEnum):
    """RFC 4511 result codes, named as in the RFC."""

    SUCCESS = 0
    OPERATIONS_ERROR = 1
    PROTOCOL_ERROR = 2
    TIME_LIMIT_EXCEEDED = 3
    SIZE_LIMIT_EXCEEDED = 4
    COMPARE_FALSE = 5
    COMPARE_TRUE = 6
    AUTH_METHOD_NOT_SUPPORTED = 7
    STRONGER_AUTH_REQUIRED = 8
    REFERRAL = 10
    ADMIN_LIMIT_EXCEEDED = 11
    UNAVAILABLE_CRITICAL_EXTENSION = 12
    CONFIDENTIALITY_REQUIRED = 13
    SASL_BIND_IN_PROGRESS = 14
    NO_SUCH_ATTRIBUTE = 16
    UNDEFINED_ATTRIBUTE_TYPE = 17
    INAPPROPRIATE_MATCHING = 18
    CONSTRAINT_VIOLATION = 19
    ATTRIBUTE_OR_VALUE_EXISTS = 20
    INVALID_ATTRIBUTE_SYNTAX = 21
    NO_SUCH_OBJECT = 32
    ALIAS_PROBLEM = 33
    INVALID_DN_SYNTAX = 34
    ALIAS_DEREFERENCING_PROBLEM = 36
    INAPPROPRIATE_AUTHENTICATION = 48
    INVALID_CREDENTIALS = 49
    INSUFFICIENT_ACCESS_RIGHTS = 50
    BUSY = 51
    UNAVAILABLE = 52
    UNWILLING_TO_PERFORM = 53
    LOOP_DETECT = 54
    NAMING_VIOLATION = 64
    OBJECT_CLASS_VIOLATION = 65
    NOT_ALLOWED_ON_NON_LEAF = 66
    NOT_ALLOWED_ON_RDN = 67
    ENTRY_ALREADY_EXISTS = 68
    OBJECT_CLASS_MODS_PROHIBITED = 69
    AFFECTS_MULTIPLE_DSAS = 71
    OTHER = 80

    @property
    def rfc_name(self) -> str:
        """The name RFC 4511 and OpenLDAP's tools print: `entryAlreadyExists`."""
        head, *rest = self.name.lower().split("_")
        name = head + "".join(word.capitalize() for word in rest)
        return name.replace("Dn", "DN").replace("Rdn", "RDN").replace("Dsas", "DSAs")


class LDAPError(Exception):
    """An expected failure that the client sees as a result code and a diagnostic message."""

    result_code: ClassVar[ResultCode] = ResultCode.OTHER

    def __init__(self, message: str = "", *, matched_dn: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.matched_dn = matched_dn


class OperationsError(LDAPError):
    result_code = ResultCode.OPERATIONS_ERROR


class ProtocolError(LDAPError):
    """The client sent something RFC 4511 does not allow (never used for server faults)."""

    result_code = ResultCode.PROTOCOL_ERROR


class TimeLimitExceeded(LDAPError):
    result_code = ResultCode.TIME_LIMIT_EXCEEDED


class SizeLimitExceeded(LDAPError):
    result_code = ResultCode.SIZE_LIMIT_EXCEEDED


class AuthMethodNotSupported(LDAPError):
    result_code = ResultCode.AUTH_METHOD_NOT_SUPPORTED


class AdminLimitExceeded(LDAPError):
    result_code = ResultCode.ADMIN_LIMIT_EXCEEDED


class UnavailableCriticalExtension(LDAPError):
    result_code = ResultCode.UNAVAILABLE_CRITICAL_EXTENSION


class StrongerAuthRequired(LDAPError):
    result_code = ResultCode.STRONGER_AUTH_REQUIRED


class ConfidentialityRequired(LDAPError):
    result_code = ResultCode.CONFIDENTIALITY_REQUIRED


class NoSuchAttribute(LDAPError):
    result_code = ResultCode.NO_SUCH_ATTRIBUTE


class UndefinedAttributeType(LDAPError):
    result_code = ResultCode.UNDEFINED_ATTRIBUTE_TYPE


class InappropriateMatching(LDAPError):
    result_code = ResultCode.INAPPROPRIATE_MATCHING


class ConstraintViolation(LDAPError):
    result_code = ResultCode.CONSTRAINT_VIOLATION


class AttributeOrValueExists(LDAPError):
    result_code = ResultCode.ATTRIBUTE_OR_VALUE_EXISTS


class InvalidAttributeSyntax(LDAPError):
    result_code = ResultCode.INVALID_ATTRIBUTE_SYNTAX


class NoSuchObject(LDAPError):
    result_code = ResultCode.NO_SUCH_OBJECT


class InvalidDNSyntax(LDAPError):
    result_code = ResultCode.INVALID_DN_SYNTAX


class InappropriateAuthentication(LDAPError):
    result_code = ResultCode.INAPPROPRIATE_AUTHENTICATION


class InvalidCredentials(LDAPError):
    result_code = ResultCode.INVALID_CREDENTIALS


class InsufficientAccessRights(LDAPError):
    result_code = ResultCode.INSUFFICIENT_ACCESS_RIGHTS


class Busy(LDAPError):
    result_code = ResultCode.BUSY


class Unavailable(LDAPError):
    result_code = ResultCode.UNAVAILABLE


class UnwillingToPerform(LDAPError):
    result_code = ResultCode.UNWILLING_TO_PERFORM


class NamingViolation(LDAPError):
    result_code = ResultCode.NAMING_VIOLATION


class ObjectClassViolation(LDAPError):
    result_code = ResultCode.OBJECT_CLASS_VIOLATION


class NotAllowedOnNonLeaf(LDAPError):
    result_code = ResultCode.NOT_ALLOWED_ON_NON_LEAF


class NotAllowedOnRDN(LDAPError):
    result_code = ResultCode.NOT_ALLOWED_ON_RDN


class EntryAlreadyExists(LDAPError):
    result_code = ResultCode.ENTRY_ALREADY_EXISTS


class ObjectClassModsProhibited(LDAPError):
    result_code = ResultCode.OBJECT_CLASS_MODS_PROHIBITED


class Other(LDAPError):
    result_code = ResultCode.OTHER
