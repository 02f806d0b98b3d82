"""The one place that turns an exception into an LDAPResult (STYLE.md §7, as twisted.names does).

An `LDAPError` becomes its own result code, message and matched DN. Anything else is a bug: it
is logged with its traceback and the client sees `other` (80) with a fixed message, so no
`repr`, path or secret ever reaches the wire.
"""

from __future__ import annotations

from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from ixidir.errors import LDAPError, ResultCode
from ixidir.server.messages import ExtendedResult, Result, ResultKind

INTERNAL_ERROR_MESSAGE = "internal error"


def result_for(error: BaseException, kind: ResultKind, log: Logger) -> Result:
    """The response an operation of `kind` gets when it failed with `error`."""
    code, matched_dn, message = _fields(error, log)
    return Result(kind, code, matched_dn, message)


def extended_result_for(error: BaseException, log: Logger) -> ExtendedResult:
    """The ExtendedResponse an extended operation gets when it failed with `error`."""
    code, matched_dn, message = _fields(error, log)
    return ExtendedResult(code, matched_dn, message)


def _fields(error: BaseException, log: Logger) -> tuple[ResultCode, str, str]:
    if isinstance(error, LDAPError):
        return error.result_code, error.matched_dn, error.message
    log.failure(
        "operation failed unexpectedly",
        failure=Failure(error),  # type: ignore[no-untyped-call]
        level=LogLevel.error,
    )
    return ResultCode.OTHER, "", INTERNAL_ERROR_MESSAGE
