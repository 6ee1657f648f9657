"""Token records: conservative expiry from what the server said, the 80% extension point, the JSON form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdp_mcp.broker.state import MAX_MARGIN, CreationStop, StoredState, record_from_issued
from cdp_mcp.catalog import Scope
from cdp_mcp.client.protocols import IssuedToken

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SCOPE = frozenset({Scope.BASIC})


def _issued(**kwargs: object) -> IssuedToken:
    return IssuedToken(token="tok-secret-123", resources=SCOPE, **kwargs)  # type: ignore[arg-type]


def test_server_expiry_wins_over_the_configured_validity() -> None:
    record = record_from_issued(_issued(expires_at=T0 + timedelta(minutes=10)), started=T0, fallback_seconds=36000)
    assert record.hard_expiry == T0 + timedelta(minutes=10)
    assert T0 + timedelta(minutes=9) < record.expires_at < T0 + timedelta(minutes=10)
    assert record.refresh_at < record.expires_at
    lifetime = (record.expires_at - T0).total_seconds()
    assert (record.refresh_at - T0).total_seconds() == 0.8 * lifetime


def test_the_earlier_of_relative_and_absolute_expiry_counts() -> None:
    issued = _issued(expires_at=T0 + timedelta(minutes=10), validity_seconds=300)
    record = record_from_issued(issued, started=T0, fallback_seconds=36000)
    assert record.hard_expiry == T0 + timedelta(seconds=300)


def test_an_absolute_expiry_in_the_past_is_clock_skew_and_ignored() -> None:
    record = record_from_issued(_issued(expires_at=T0 - timedelta(hours=1)), started=T0, fallback_seconds=600)
    assert record.hard_expiry is None
    assert record.expires_at == T0 + timedelta(seconds=600) - MAX_MARGIN / 2  # 5% of 600 s


def test_without_a_server_expiry_the_configured_validity_is_cut_by_a_margin() -> None:
    record = record_from_issued(_issued(), started=T0, fallback_seconds=36000)
    assert record.hard_expiry is None
    assert record.expires_at == T0 + timedelta(seconds=36000) - MAX_MARGIN
    assert not record.surely_dead(T0 + timedelta(days=2))  # only the server's word makes a token surely dead


def test_state_round_trips_and_never_shows_the_token_in_reprs() -> None:
    state = StoredState()
    record = record_from_issued(_issued(validity_seconds=600), started=T0, fallback_seconds=600)
    state.tokens[Scope.BASIC] = record
    state.ledger.record(T0)
    state.learned_validity = 900
    state.stopped["optIn"] = CreationStop(until=T0 + timedelta(hours=24), version="0.1.0")
    again = StoredState.from_json(state.to_json())
    assert again.tokens[Scope.BASIC] == record
    assert again.ledger == state.ledger
    assert again == state
    assert "tok-secret-123" not in repr(record) + repr(again) + str(again)


def test_a_token_is_due_early_when_uses_come_further_apart_than_its_remaining_life() -> None:
    record = record_from_issued(_issued(validity_seconds=3600), started=T0, fallback_seconds=3600)
    forty = T0 + timedelta(minutes=40)
    assert not record.due(forty)  # before the 80% point ...
    assert record.due(forty, gap=timedelta(minutes=40))  # ... but the next use, as far away, would find it dead
    assert not record.due(forty, gap=timedelta(minutes=90))  # uses further apart than a whole life: no use
    assert not record.due(T0, gap=timedelta(minutes=59))  # just issued: extending gains nothing
    record.last_used = T0
    assert not record.fresh(forty)  # the gap since the last use is the estimate
    assert record.fresh(T0 + timedelta(minutes=10))


def test_a_learned_shorter_life_caps_computed_times_but_not_stated_ones() -> None:
    computed = record_from_issued(_issued(), started=T0, fallback_seconds=36000)
    stated = record_from_issued(_issued(validity_seconds=36000), started=T0, fallback_seconds=36000)
    for record in (computed, stated):
        record.cap_lifetime(600)
    assert computed.expires_at == T0 + timedelta(seconds=600) - MAX_MARGIN / 2
    assert computed.refresh_at < computed.expires_at
    assert stated.expires_at == T0 + timedelta(seconds=36000) - MAX_MARGIN  # the server's word stands
    computed.cap_lifetime(3600)  # never lengthens
    assert computed.expires_at == T0 + timedelta(seconds=600) - MAX_MARGIN / 2


def test_a_creation_stop_ends_at_its_time_or_with_another_version() -> None:
    stop = CreationStop(until=T0 + timedelta(hours=24), version="0.1.0")
    assert stop.applies(T0, "0.1.0") and stop.applies(T0 + timedelta(hours=23), "0.1.0")
    assert not stop.applies(T0 + timedelta(hours=24), "0.1.0")  # its time is up
    assert not stop.applies(T0, "0.2.0")  # a version that may read the answer tries again
