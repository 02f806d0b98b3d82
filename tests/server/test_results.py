"""The one exception → LDAPResult mapping."""

from __future__ import annotations

from typing import Any, cast

from twisted.logger import ILogObserver, Logger

from ixidir.errors import NoSuchObject, ResultCode, SizeLimitExceeded
from ixidir.server.messages import ExtendedResult, Result, ResultKind
from ixidir.server.results import INTERNAL_ERROR_MESSAGE, extended_result_for, result_for


def _logger(events: list[dict[str, Any]]) -> Logger:
    return Logger(observer=cast(ILogObserver, events.append))


def test_ldap_errors_keep_their_code_message_and_matched_dn_and_are_not_logged() -> None:
    events: list[dict[str, Any]] = []
    error = NoSuchObject("no such entry", matched_dn="dc=example,dc=com")
    assert result_for(error, ResultKind.MODIFY, _logger(events)) == Result(
        ResultKind.MODIFY, ResultCode.NO_SUCH_OBJECT, "dc=example,dc=com", "no such entry"
    )
    assert extended_result_for(SizeLimitExceeded("x"), _logger(events)) == ExtendedResult(
        ResultCode.SIZE_LIMIT_EXCEEDED, "", "x"
    )
    assert events == []


def test_other_exceptions_become_80_with_a_fixed_message_and_a_logged_traceback() -> None:
    events: list[dict[str, Any]] = []
    try:
        raise KeyError("password=hunter2")
    except KeyError as error:
        result = result_for(error, ResultKind.ADD, _logger(events))
    assert result == Result(ResultKind.ADD, ResultCode.OTHER, "", INTERNAL_ERROR_MESSAGE)
    assert len(events) == 1
    assert events[0]["log_failure"].value.args == ("password=hunter2",)
    assert events[0]["log_failure"].getTracebackObject() is not None
