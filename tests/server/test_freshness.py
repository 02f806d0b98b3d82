"""The freshness barrier in the protocol: requests wait while this worker misses an
acknowledged write, in order, and go on once the follower caught up (or the bound passed)."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.logger import Logger

from ixidir.server.freshness import HOLD_SECONDS, Freshness
from ixidir.server.messages import ExtendedResult

from . import wire
from .fake_directory import BASE, FakeDirectory
from .test_protocol import WHO_AM_I, Connection


class Node:
    """A fake node: its committed sequence, one worker's directory, a follower to kick."""

    def __init__(self) -> None:
        self.committed = 0
        self.directory = FakeDirectory()
        self.kicks = 0
        self.clock = Clock()
        self.freshness = Freshness(
            committed=lambda: self.committed,
            applied=lambda: self.directory.sequence,
            kick=self.kick,
            clock=self.clock,
            log=Logger(),
        )
        self.connection = Connection(self.directory, clock=self.clock, freshness=self.freshness)

    def kick(self) -> None:
        self.kicks += 1

    def follower_applies(self, sequence: int) -> None:
        self.directory.sequence = sequence
        self.freshness.caught_up()
        self.run_due()

    def send(self, *pdus: bytes) -> None:
        self.connection.transport.reset()
        self.connection.protocol.dataReceived(b"".join(pdus))
        self.run_due()

    def run_due(self) -> None:
        """Run the reactor's due calls (not the hold's timer, which `drain` would)."""
        now = self.clock.seconds()
        while any(call.time <= now for call in self.clock.getDelayedCalls()):
            self.clock.advance(0)

    def answered(self) -> list[int]:
        return [message_id for message_id, *_ in self.written()]

    def written(self) -> list[wire.Decoded]:
        return wire.decode_responses(self.connection.transport.written())


def _search(message_id: int) -> bytes:
    return wire.search(message_id, BASE, scope=0)


def test_a_worker_that_is_up_to_date_answers_at_once() -> None:
    node = Node()
    node.committed = node.directory.sequence = 4
    node.send(_search(1))
    assert node.answered() == [1, 1]
    assert node.kicks == 0


def test_a_request_waits_until_the_follower_applied_the_acknowledged_write() -> None:
    node = Node()
    node.committed = 5  # another worker acknowledged change 5
    node.send(_search(1))
    assert node.answered() == []
    assert node.kicks == 1
    assert node.connection.transport.producerState == "paused"
    node.follower_applies(4)
    assert node.answered() == []
    node.follower_applies(5)
    assert node.answered() == [1, 1]
    assert node.connection.transport.producerState == "producing"


def test_held_requests_keep_their_order_behind_those_already_queued() -> None:
    node = Node()
    node.connection.bind_admin()
    node.committed = 1
    node.send(_search(2), wire.extended(3, WHO_AM_I), _search(4), _search(5))
    assert node.answered() == []
    node.committed = 2  # a second write acknowledged while the first wait runs
    node.follower_applies(1)
    assert node.answered() == []
    node.follower_applies(2)
    assert node.answered() == [2, 2, 3, 4, 4, 5, 5]
    assert isinstance(node.written()[2][1], ExtendedResult)


def test_a_wait_past_the_bound_is_logged_and_answered_from_what_the_worker_holds() -> None:
    node = Node()
    events: list[dict[str, object]] = []
    node.freshness._log = Logger(observer=events.append)  # type: ignore[arg-type]
    node.committed = 9
    node.send(_search(1))
    assert node.answered() == []
    node.clock.advance(HOLD_SECONDS)
    node.run_due()
    assert node.answered() == [1, 1]
    assert [event["target"] for event in events] == [9]


def test_a_connection_closed_while_waiting_is_never_answered() -> None:
    node = Node()
    node.committed = 3
    node.send(_search(1))
    node.connection.protocol.connectionLost()
    node.follower_applies(3)
    assert node.answered() == []


def test_after_a_wait_timed_out_later_requests_for_the_same_write_do_not_wait_again() -> None:
    node = Node()
    node.committed = 9
    node.send(_search(1))
    node.clock.advance(HOLD_SECONDS)
    node.run_due()
    node.send(_search(2))
    assert node.answered() == [2, 2]
    node.committed = 10  # a newer write: worth waiting for again
    node.send(_search(3))
    assert node.answered() == []
    assert node.kicks == 2
