"""The rolling creation ledger: counts, the moment creation becomes possible again, the API's own block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdp_mcp.broker.ledger import WINDOW, CreationLedger, near_limit, warn_level

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_creations_age_out_of_the_rolling_window() -> None:
    ledger = CreationLedger()
    for minutes in (0, 10, 20):
        ledger.record(T0 + timedelta(minutes=minutes))
    assert ledger.used(T0 + timedelta(minutes=30)) == 3
    assert ledger.used(T0 + WINDOW + timedelta(minutes=5)) == 2  # the first aged out, exactly 24 h later
    assert ledger.used(T0 + WINDOW + timedelta(minutes=25)) == 0


def test_retry_at_is_when_enough_creations_age_out() -> None:
    ledger = CreationLedger()
    moments = [T0 + timedelta(minutes=m) for m in (0, 5, 7, 30)]
    for moment in moments:
        ledger.record(moment)
    now = T0 + timedelta(hours=1)
    assert ledger.retry_at(now, limit=4) == moments[0] + WINDOW
    # The limit was lowered below what is already used: two must age out before one more fits.
    assert ledger.retry_at(now, limit=3) == moments[1] + WINDOW
    assert ledger.retry_at(now, limit=10) is None


def test_allowance_reports_remaining_and_next_free_slot() -> None:
    ledger = CreationLedger()
    assert ledger.allowance(T0, 5).next_free_at is None
    ledger.record(T0)
    ledger.record(T0 + timedelta(minutes=1))
    allowance = ledger.allowance(T0 + timedelta(minutes=2), 5)
    assert (allowance.limit, allowance.used, allowance.remaining) == (5, 2, 3)
    assert allowance.next_free_at == T0 + WINDOW


def test_a_block_from_the_api_wins_until_it_ends() -> None:
    ledger = CreationLedger()
    until = T0 + timedelta(hours=15)
    ledger.block(until)
    assert ledger.blocked(T0)
    allowance = ledger.allowance(T0, 100)
    assert (allowance.remaining, allowance.next_free_at) == (0, until)
    assert ledger.retry_at(T0, 100) == until
    assert not ledger.blocked(until)


def test_ledger_survives_its_json_form() -> None:
    ledger = CreationLedger()
    ledger.record(T0)
    ledger.block(T0 + timedelta(hours=1))
    again = CreationLedger.from_json(ledger.to_json())
    assert again == ledger


def test_thresholds_for_warning_and_rescoping() -> None:
    assert (warn_level(100), near_limit(100)) == (80, 90)
    assert (warn_level(5), near_limit(5)) == (4, 4)
    assert near_limit(1) == 0  # a limit of one: re-scope idle tokens before spending the only creation
    for limit in range(1, 200):
        assert near_limit(limit) < limit and warn_level(limit) <= limit
