"""Voice-mailbox use-cases against a real Directory over the in-memory store, `init`'s entries."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, BASE, CONNECTOR, make_directory

from ixidir.admin.errors import AdminError
from ixidir.admin.initialize import first_entries
from ixidir.admin.users import NewUser, Session, add_user
from ixidir.admin.voicemail import (
    ResetActions,
    mailbox_status,
    reset_voicemail,
    set_pin,
    user_dn,
)
from ixidir.admin.voicemail_commands import read_pin
from ixidir.directory.directory import Directory
from ixidir.directory.pins import PinOutcome, pin_problem
from ixidir.directory.requests import AccessClass, Principal

SERVICE = Principal(CONNECTOR, AccessClass.SERVICE)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
# The manual's five reset actions (§4.4.2.5).
MANUAL_ACTIONS = [
    ResetActions(resend_welcome=True),
    ResetActions(new_pin=True, resend_welcome=True),
    ResetActions(unlock=True),
    ResetActions(unlock=True, resend_welcome=True),
    ResetActions(unlock=True, new_pin=True, resend_welcome=True),
]


@pytest.fixture
def session() -> Session:
    directory = make_directory(MemoryEntryStore())
    entries = first_entries(
        BASE, b"admin-secret", country_code="49", area_code="8142", timezone="Europe/Berlin"
    )
    directory.add_many(ADMIN, entries)
    made = Session(directory, ADMIN, BASE)
    add_user(
        made,
        NewUser(
            given_name="Jürgen",
            surname="Müller",
            mail="jm@example.com",
            fax=("+49 8142 4799-123",),
        ),
    )
    return made


def lock(session: Session, dn: str) -> None:
    for _ in range(3):
        _directory(session).verify_pin(SERVICE, dn, b"000001")


def test_set_pin_then_verify(session: Session) -> None:
    dn = set_pin(session, "jmueller", b"480271")
    assert dn == f"uid=jmueller,ou=people,{BASE}"
    assert _directory(session).verify_pin(SERVICE, dn, b"480271").result is PinOutcome.OK
    assert mailbox_status(session, "jmueller", now=NOW).has_pin


def test_set_pin_refuses_trivial_pins_naming_the_user(session: Session) -> None:
    with pytest.raises(AdminError, match=r"uid=jmueller,.*ixiVmPin: .*end of the user's own"):
        set_pin(session, "jmueller", b"9123")
    with pytest.raises(AdminError, match="run of digits"):
        set_pin(session, "jmueller", b"12345")
    assert not mailbox_status(session, "jmueller", now=NOW).has_pin


@pytest.mark.parametrize("actions", MANUAL_ACTIONS, ids=lambda a: a.describe())
def test_the_manuals_five_actions(session: Session, actions: ResetActions) -> None:
    dn = set_pin(session, "jmueller", b"480271")
    lock(session, dn)
    outcome = reset_voicemail(session, "jmueller", actions)
    status = mailbox_status(session, "jmueller", now=NOW)
    assert outcome.dn == dn
    assert status.lock.is_locked is not actions.unlock
    assert status.welcome_pending is actions.resend_welcome
    if actions.new_pin:
        assert outcome.pin is not None
        assert pin_problem(outcome.pin, numbers=[b"+49 8142 4799-123"]) is None
    else:
        assert outcome.pin is None
    # A new PIN alone does not unlock: the manual offers "unlock, reset PIN" for that.
    wanted = PinOutcome.OK if actions.unlock else PinOutcome.LOCKED
    pin = outcome.pin or b"480271"
    assert _directory(session).verify_pin(SERVICE, dn, pin).result is wanted


def test_an_empty_reset_is_refused(session: Session) -> None:
    with pytest.raises(AdminError, match="choose --unlock"):
        reset_voicemail(session, "jmueller", ResetActions())


def test_unknown_uid_is_an_error(session: Session) -> None:
    with pytest.raises(AdminError, match="no user with uid 'nobody'"):
        reset_voicemail(session, "nobody", ResetActions(unlock=True))
    with pytest.raises(AdminError, match="no such object"):
        reset_voicemail(session, f"uid=nobody,ou=people,{BASE}", ResetActions(unlock=True))


def test_a_dn_is_taken_as_given(session: Session) -> None:
    dn = f"uid=jmueller,ou=people,{BASE}"
    assert user_dn(session, dn) == dn
    assert user_dn(session, "jmueller") == dn


def test_status_counts_wrong_pins(session: Session) -> None:
    dn = set_pin(session, "jmueller", b"480271")
    _directory(session).verify_pin(SERVICE, dn, b"000001")
    status = mailbox_status(session, "jmueller", now=NOW)
    assert (status.lock.failures, status.lock.is_locked, status.policy.max_failures) == (
        1,
        False,
        3,
    )
    assert status.pin_changed_at is not None


def test_pin_is_read_from_a_pipe_without_its_newline() -> None:
    assert read_pin(io.StringIO("480271\nignored\n")) == b"480271"
    with pytest.raises(AdminError, match="no PIN given"):
        read_pin(io.StringIO(""))


def _directory(session: Session) -> Directory:
    """The Directory the session was made with (verify_pin is not a use-case call)."""
    assert isinstance(session.directory, Directory)
    return session.directory
