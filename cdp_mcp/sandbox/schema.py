"""The sandbox database schema. Dates of events are stored as days before "today", so recency stays true."""

from __future__ import annotations

__all__ = ["INDEXES", "SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    gcr_id INTEGER PRIMARY KEY,
    customer_code TEXT NOT NULL,
    email TEXT,
    mobile TEXT,
    salutation TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    gender TEXT NOT NULL,
    dob TEXT NOT NULL,
    city TEXT NOT NULL,
    state TEXT NOT NULL,
    address TEXT NOT NULL,
    tier TEXT NOT NULL,
    total_visits INTEGER NOT NULL,
    total_web_sessions INTEGER NOT NULL,
    preferred_channel TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identifiers (kind TEXT NOT NULL, value TEXT NOT NULL, gcr_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS segments (
    segment_id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, segment_type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segment_members (
    gcr_id INTEGER NOT NULL, segment_id TEXT NOT NULL, added_days_ago INTEGER NOT NULL,
    PRIMARY KEY (gcr_id, segment_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id TEXT PRIMARY KEY, name TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL,
    segment_id TEXT NOT NULL, start_days_ago INTEGER NOT NULL, end_days_ago INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_participation (
    gcr_id INTEGER NOT NULL, campaign_id TEXT NOT NULL, sent_days_ago INTEGER NOT NULL,
    opened INTEGER NOT NULL, clicked INTEGER NOT NULL, PRIMARY KEY (gcr_id, campaign_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS products (
    product_id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
    category TEXT NOT NULL, brand TEXT NOT NULL, price REAL NOT NULL, image_url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY, gcr_id INTEGER NOT NULL, days_ago INTEGER NOT NULL,
    channel TEXT NOT NULL, total REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id INTEGER NOT NULL, line_no INTEGER NOT NULL, product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL, amount REAL NOT NULL, PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activity_events (
    event_id INTEGER PRIMARY KEY, gcr_id INTEGER NOT NULL, days_ago INTEGER NOT NULL, event_type TEXT NOT NULL,
    channel TEXT NOT NULL, description TEXT NOT NULL, amount REAL
);
CREATE TABLE IF NOT EXISTS affinity_scores (
    gcr_id INTEGER NOT NULL, dimension TEXT NOT NULL, label TEXT NOT NULL, score REAL NOT NULL,
    PRIMARY KEY (gcr_id, dimension, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS custom_attributes (
    gcr_id INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, data_type TEXT NOT NULL,
    PRIMARY KEY (gcr_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_consents (
    gcr_id INTEGER NOT NULL, channel_id TEXT NOT NULL, opted_in INTEGER NOT NULL, categories TEXT NOT NULL,
    PRIMARY KEY (gcr_id, channel_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, tenant TEXT NOT NULL, resources TEXT NOT NULL, validity INTEGER NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS token_ledger (
    event_id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL
);
"""
"""Tables. `identifiers` holds normalised values (lower-case email, mobile digits) for resolution."""

INDEXES = """
CREATE INDEX IF NOT EXISTS ix_identifiers ON identifiers (kind, value);
CREATE INDEX IF NOT EXISTS ix_segment_members_segment ON segment_members (segment_id);
CREATE INDEX IF NOT EXISTS ix_orders_customer ON orders (gcr_id, days_ago, order_id);
CREATE INDEX IF NOT EXISTS ix_events_customer ON activity_events (gcr_id, days_ago);
CREATE INDEX IF NOT EXISTS ix_ledger_day ON token_ledger (tenant, kind, day);
"""
"""Created after bulk loading, which is faster than maintaining them row by row."""
