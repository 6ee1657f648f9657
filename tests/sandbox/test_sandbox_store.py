"""The synthetic tenant: deterministic for a seed, internally consistent, and reused from its database file."""

from __future__ import annotations

import hashlib
import random
import re
import sqlite3
import tempfile
from pathlib import Path

import anyio
import pytest

from cdp_mcp.clock import ManualClock
from cdp_mcp.sandbox import SandboxOptions, contract, open_sandbox
from cdp_mcp.sandbox.contract import MIN_CUSTOMERS, ErrorCode
from cdp_mcp.sandbox.generator import Customer, OwnData
from cdp_mcp.sandbox.schema import SCHEMA
from cdp_mcp.sandbox.seed import seed_database
from cdp_mcp.sandbox.seed_data import CAMPAIGNS, CHANNELS
from cdp_mcp.sandbox.store import Store, template_path

pytestmark = pytest.mark.anyio

_TABLES = ("customers", "identifiers", "segment_members", "campaign_participation", "products", "orders",
           "order_lines", "activity_events", "affinity_scores", "custom_attributes", "channel_consents")


def _digest(store: Store) -> dict[str, str]:
    out = {}
    for table in _TABLES:
        rows = store.query(f"SELECT * FROM {table} ORDER BY 1, 2")  # noqa: S608 - fixed table names
        out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


async def _open(path: Path, seed: int, customers: int) -> Store:
    return await anyio.to_thread.run_sync(lambda: Store.open(seed=seed, customers=customers, db_path=path))


async def test_same_seed_same_data_other_seed_other_data(tmp_path: Path) -> None:
    stores = [await _open(tmp_path / f"{name}.sqlite", seed, 60) for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    try:
        a, b, c = (_digest(s) for s in stores)
        assert a == b
        assert all(a[t] != c[t] for t in ("customers", "orders", "activity_events"))
    finally:
        for store in stores:
            store.close()


async def test_a_customer_does_not_depend_on_the_tenant_size(tmp_path: Path) -> None:
    small, large = await _open(tmp_path / "s.sqlite", 7, 20), await _open(tmp_path / "l.sqlite", 7, 60)
    try:
        for gcr in (1, 6, 15, 20):
            sql = "SELECT * FROM customers WHERE gcr_id = ?"
            assert small.query(sql, (gcr,)) == large.query(sql, (gcr,))
        assert large.scalar("SELECT COUNT(*) FROM customers") == 60
    finally:
        small.close()
        large.close()


async def test_database_file_is_reused_for_the_same_seed_and_size(tmp_path: Path) -> None:
    path = tmp_path / "tenant.sqlite"
    options = SandboxOptions(customers=30, db_path=path)
    async with open_sandbox(options, clock=ManualClock()) as sandbox:
        await sandbox.token_counts()
        built = path.stat().st_mtime_ns
        (gcr, name) = sandbox.store.query("SELECT gcr_id, first_name FROM customers WHERE gcr_id = 1")[0]
    async with open_sandbox(options, clock=ManualClock()) as sandbox:
        assert path.stat().st_mtime_ns == built  # not rebuilt
        assert sandbox.store.query("SELECT gcr_id, first_name FROM customers WHERE gcr_id = 1") == [(gcr, name)]
    async with open_sandbox(options.model_copy(update={"customers": 40}), clock=ManualClock()) as sandbox:
        assert sandbox.store.scalar("SELECT COUNT(*) FROM customers") == 40  # other size: rebuilt


async def test_segments_are_derived_from_the_data(sandbox_server) -> None:
    store = sandbox_server.sandbox.store
    lapsed = store.query("SELECT m.gcr_id, MIN(o.days_ago) FROM segment_members m JOIN orders o USING (gcr_id) "
                         "WHERE m.segment_id = '102' GROUP BY m.gcr_id")
    assert lapsed and all(last > 90 for _, last in lapsed)
    high = store.query("SELECT m.gcr_id, SUM(o.total) FROM segment_members m JOIN orders o USING (gcr_id) "
                       "WHERE m.segment_id = '101' AND o.days_ago < 365 GROUP BY m.gcr_id")
    assert high and all(spend >= 800 for _, spend in high)
    never = store.scalar("SELECT COUNT(*) FROM segment_members m JOIN orders o USING (gcr_id) "
                         "WHERE m.segment_id = '108'")
    assert never == 0
    sizes = dict(store.query("SELECT segment_id, COUNT(*) FROM segment_members GROUP BY segment_id"))
    assert all(sizes.get(s, 0) > 0 for s in ("101", "102", "103", "104", "108"))


async def test_campaigns_respect_consent_and_targeting(sandbox_server) -> None:
    store = sandbox_server.sandbox.store
    channel_ids = {c.name: c.channel_id for c in CHANNELS}
    for campaign in CAMPAIGNS:
        rows = store.query(
            "SELECT p.gcr_id, m.segment_id, c.opted_in FROM campaign_participation p "
            "LEFT JOIN segment_members m ON m.gcr_id = p.gcr_id AND m.segment_id = ? "
            "LEFT JOIN channel_consents c ON c.gcr_id = p.gcr_id AND c.channel_id = ? WHERE p.campaign_id = ?",
            (campaign.segment_id, channel_ids[campaign.channel], campaign.campaign_id))
        assert all(seg == campaign.segment_id and opted == 1 for _, seg, opted in rows)
        assert bool(rows) == (campaign.status != "Scheduled")


async def test_identity_edge_cases_exist(sandbox_server) -> None:
    store = sandbox_server.sandbox.store
    assert store.scalar("SELECT COUNT(*) FROM customers WHERE email IS NULL") > 1
    assert store.scalar("SELECT COUNT(*) FROM channel_consents c JOIN customers u USING (gcr_id) "
                        "WHERE u.email IS NULL AND c.channel_id = '01' AND c.opted_in = 1") == 0
    shared = store.query("SELECT kind, COUNT(*) FROM identifiers GROUP BY kind, value HAVING COUNT(*) > 1")
    assert {kind for kind, _ in shared} == {"email", "mobile"}
    opted_out = store.scalar("SELECT COUNT(*) FROM channel_consents WHERE opted_in = 0")
    assert opted_out > 0


def test_contract_document_and_table_agree() -> None:
    """CONTRACT.md's error table and contract.ERROR_STATUS name the same codes with the same statuses."""
    document = (Path(contract.__file__).parent / "CONTRACT.md").read_text()
    section = document.split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|[^|]+\|\s*(\d{3})\s*\|\s*([A-Z_]+)", section, flags=re.MULTILINE)
    assert {ErrorCode(code): int(status) for status, code in rows} == contract.ERROR_STATUS


@pytest.mark.parametrize(("label", "segment_name"), [
    ("lapsed", "Lapsed 90 Days"), ("new", "New Customers"), ("shared_mobile_2", "Never Purchased"),
])
async def test_samples_sit_in_the_segments_their_description_promises(sandbox_server, label: str,
                                                                      segment_name: str) -> None:
    sample = sandbox_server.sample(label)
    members = sandbox_server.sandbox.store.query(
        "SELECT 1 FROM segment_members m JOIN segments s USING (segment_id) WHERE m.gcr_id = ? AND s.name = ?",
        (sample.gcr_id, segment_name))
    assert members == [(1,)]


async def test_db_path_never_overwrites_a_file_that_is_not_a_sandbox(tmp_path: Path) -> None:
    precious = tmp_path / "customers.sqlite"
    precious.write_bytes(b"somebody's real data")
    with pytest.raises(FileExistsError, match="not a cdp-mcp sandbox database"):
        await _open(precious, 7, 20)
    assert precious.read_bytes() == b"somebody's real data"
    empty = tmp_path / "empty.sqlite"
    empty.touch()  # an empty file (mktemp) is fair game
    store = await _open(empty, 7, 20)
    store.close()


async def test_building_a_template_prunes_those_of_older_generators(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # an isolated template cache
    cache = template_path(7, 10).parent
    cache.mkdir(parents=True)
    stale = cache / "0000oldcode0-s7-n1000.sqlite"
    stale.write_bytes(b"a template of an older generator")
    store = await anyio.to_thread.run_sync(lambda: Store.open(seed=7, customers=MIN_CUSTOMERS))
    store.close()
    assert not stale.exists()
    assert [p.name for p in cache.glob("*.sqlite")] == [template_path(7, MIN_CUSTOMERS).name]


def _seeded(seed: int, customers: int, own: dict[str, OwnData]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SCHEMA + "".join(data.tables for data in own.values()))
    seed_database(conn, seed=seed, customers=customers, own=own)
    return conn


def _loyalty(customer: Customer, rng: random.Random) -> dict[str, list[tuple[object, ...]]]:
    """A toy resource's own data: a points balance from two years of spend, and a few point events."""
    events = [(customer.gcr_id, k, rng.randint(1, 400)) for k in range(rng.randint(0, 3))]
    return {"toy_points": [(customer.gcr_id, int(customer.spend_2y), len(customer.order_days), customer.tier)],
            "toy_point_events": events}


_TOY = {"toyPoints": OwnData(
    "CREATE TABLE toy_points (gcr_id INTEGER PRIMARY KEY, points INTEGER, orders INTEGER, tier TEXT);"
    "CREATE TABLE toy_point_events (gcr_id INTEGER, k INTEGER, points INTEGER);", _loyalty)}


def test_a_resource_brings_its_own_data_without_changing_anyone_elses() -> None:
    """A resource whose data no shared table holds declares its tables and a row generator (OwnData): every
    customer gets rows derived from the generated customer, deterministically, and the shared tables are row for
    row those of a tenant without it."""
    plain, toy, again = _seeded(7, 40, {}), _seeded(7, 40, _TOY), _seeded(7, 40, _TOY)
    for table in _TABLES:
        query = f"SELECT * FROM {table} ORDER BY 1, 2"  # noqa: S608 - fixed table names
        assert plain.execute(query).fetchall() == toy.execute(query).fetchall(), table
    points = toy.execute("SELECT gcr_id, points, orders, tier FROM toy_points ORDER BY gcr_id").fetchall()
    assert [row[0] for row in points] == list(range(1, 41))
    facts = toy.execute("SELECT c.gcr_id, CAST(COALESCE(SUM(o.total), 0) AS INTEGER), COUNT(o.order_id), c.tier "
                        "FROM customers c LEFT JOIN orders o ON o.gcr_id = c.gcr_id AND o.days_ago < 730 "
                        "GROUP BY c.gcr_id ORDER BY c.gcr_id").fetchall()
    assert [(g, orders, tier) for g, _, orders, tier in points] == [(g, n, tier) for g, _, n, tier in facts]
    assert all(abs(p[1] - f[1]) <= 1 for p, f in zip(points, facts, strict=True))  # rounding of the spend
    events = "SELECT * FROM toy_point_events ORDER BY 1, 2"
    assert toy.execute(events).fetchall() == again.execute(events).fetchall()
    assert toy.execute("SELECT COUNT(*) FROM toy_point_events").fetchone()[0] > 0
