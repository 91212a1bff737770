# Takes a test database back to the schema before a migration, so that a test can show an
# existing database being migrated (the suite has no binary of an older release). A test that
# goes back to version N undoes every later migration, newest first.
import sqlite3
import subprocess

# Migration 10 (orders.refund_key in the orders' identity, order_items.product_id): undone by
# rebuilding orders as schema 9 had it.
_V9_ORDERS = (
    "CREATE TABLE orders_v9 ("
    " id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
    " external_id TEXT NOT NULL, receipt_type INTEGER NOT NULL, order_number INTEGER NOT NULL,"
    " client_id INTEGER, order_date_ms INTEGER NOT NULL, external_date_ms INTEGER,"
    " total INTEGER NOT NULL, card INTEGER NOT NULL, cash INTEGER NOT NULL,"
    " spent_currency INTEGER NOT NULL, spent INTEGER NOT NULL,"
    " accrued_currency INTEGER NOT NULL, accrued INTEGER NOT NULL, refund_of INTEGER,"
    " refunded_total INTEGER NOT NULL DEFAULT 0, accrual_taken INTEGER NOT NULL DEFAULT 0,"
    " spend_returned INTEGER NOT NULL DEFAULT 0, paid_refunded INTEGER NOT NULL DEFAULT 0,"
    " fully_refunded INTEGER NOT NULL DEFAULT 0, fn TEXT, fd TEXT, comment TEXT,"
    " public_token TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL, response TEXT,"
    " created_by INTEGER, reaction INTEGER NOT NULL DEFAULT 0, customer_comment TEXT,"
    " UNIQUE (merchant_id, external_id, receipt_type));"
)
_V9_COLS = ("id, merchant_id, external_id, receipt_type, order_number, client_id, order_date_ms,"
            " external_date_ms, total, card, cash, spent_currency, spent, accrued_currency, accrued,"
            " refund_of, refunded_total, accrual_taken, spend_returned, paid_refunded, fully_refunded,"
            " fn, fd, comment, public_token, request_hash, response, created_by, reaction, customer_comment")


# The statements that undo migration 10 on SQLite, in order (test_lockout.py undoes them all).
UNDO_10_SQLITE = [
    _V9_ORDERS.rstrip(";"),
    f"INSERT INTO orders_v9 ({_V9_COLS}) SELECT {_V9_COLS} FROM orders",
    "DROP TABLE orders",
    "ALTER TABLE orders_v9 RENAME TO orders",
    "CREATE INDEX orders_client ON orders(client_id)",
    "CREATE INDEX orders_merchant_date ON orders(merchant_id, order_date_ms)",
    "ALTER TABLE order_items DROP COLUMN product_id",
]


# Migration 11 (the index that finds the instance a shared coupon was received for): the same
# statement on both engines.
UNDO_11 = ["DROP INDEX coupon_instances_shared"]

# The cabinet's sessions (issue 14: SQLite's migration 12, PostgreSQL's 13): the same statement
# on both engines.
UNDO_LK_SESSIONS = ["DROP TABLE lk_sessions"]

# Self-enrolment (issue 15: SQLite's migration 19, PostgreSQL's 20, the newest): the join codes,
# the clients' consent and birthday, the pending enrolments; the same statements on both engines,
# first of every undo.
UNDO_ENROL = ["DROP TABLE enrolments", "DROP INDEX merchants_join_code",
              "ALTER TABLE merchants DROP COLUMN join_code", "ALTER TABLE clients DROP COLUMN birthday",
              "ALTER TABLE clients DROP COLUMN consent_version",
              "ALTER TABLE clients DROP COLUMN consent_ms"]

# Apple Wallet pass updates (issue 15: SQLite's migration 18, PostgreSQL's 19): the same
# statements on both engines, undone right after UNDO_ENROL.
UNDO_PASSKIT = ["DROP TABLE card_updates", "DROP TABLE pass_registrations"]

# Personal data on request (issue 15, 152-FZ: SQLite's migration 17, PostgreSQL's 18): the
# same statements on both engines, undone right after UNDO_PASSKIT.
UNDO_ERASED = ["DROP INDEX webhook_events_client", "ALTER TABLE clients DROP COLUMN erased_ms"]

# The orders' fiscal sign (issue 15: SQLite's migration 16, PostgreSQL's 17): the same
# statement on both engines, undone right after UNDO_ERASED.
UNDO_FP = ["ALTER TABLE orders DROP COLUMN fp"]

# Signed webhooks (issue 16: SQLite's migration 15, PostgreSQL's 16): the same statements on
# both engines, undone right after UNDO_FP.
UNDO_WEBHOOKS = ["DROP TABLE webhook_lot_notices", "DROP TABLE webhook_attempts",
                 "DROP TABLE webhook_deliveries", "DROP TABLE webhook_events",
                 "DROP TABLE webhook_endpoints"]

# Customer imports and the ledger's reason column (issue 14: SQLite's migration 14, PostgreSQL's
# 15): the same statements on both engines, undone after the webhooks'.
UNDO_IMPORTS = ["DROP TABLE imports", "ALTER TABLE ledger DROP COLUMN reason"]

# Migration 12 on PostgreSQL (order numbers from a sequence per merchant): each merchant's
# counter takes the number its sequence reached, the sequences and their trigger go.
UNDO_12_PG = [
    "DO $$ DECLARE m record; BEGIN FOR m IN SELECT id FROM merchants LOOP"
    " EXECUTE format('UPDATE merchants SET order_seq = (SELECT CASE WHEN is_called THEN last_value"
    " ELSE last_value - 1 END FROM order_seq_%s) WHERE id = %s', m.id, m.id);"
    " EXECUTE format('DROP SEQUENCE order_seq_%s', m.id); END LOOP; END $$",
    "DROP TRIGGER merchants_order_seq ON merchants",
    "DROP FUNCTION order_seq_create()",
]


# The dashboard's aggregates (SQLite migration 13, PostgreSQL 14): their triggers, tables and
# indexes; the migration fills them again from the rows they sum.
_REPORT_TRIGGERS = [("report_clients_insert", "clients"), ("report_clients_purchases", "clients"),
                    ("report_orders_insert", "orders"), ("report_ledger_insert", "ledger"),
                    ("report_lots_insert", "lots"), ("report_lots_update", "lots")]
_REPORT_TABLES = ["DROP INDEX clients_paid", "DROP INDEX balances_debt", "DROP TABLE report_totals",
                  "DROP TABLE report_days", "DROP TABLE ledger_days", "DROP TABLE lot_days"]
UNDO_REPORTS_SQLITE = [f"DROP TRIGGER {t}" for t, _ in _REPORT_TRIGGERS] + _REPORT_TABLES
UNDO_REPORTS_PG = ([f"DROP TRIGGER {t} ON {table}" for t, table in _REPORT_TRIGGERS] +
                   [f"DROP FUNCTION {f}()" for f in ("report_clients_insert", "report_clients_purchases",
                                                   "report_orders_insert", "report_ledger_insert",
                                                   "report_lots_change")] + _REPORT_TABLES)



# Every SQLite migration's undo, by the version it made (the newest first when applied); a new
# migration adds its undo here (test_lockout.py then proves an old database migrates, and
# `bench/run.py --baseline-bin` can run an older kopilkad on a copy of the new database).
SQLITE_UNDO = {
    19: UNDO_ENROL,
    18: UNDO_PASSKIT,
    17: UNDO_ERASED,
    16: UNDO_FP,
    15: UNDO_WEBHOOKS,
    14: UNDO_IMPORTS,
    13: UNDO_REPORTS_SQLITE,
    12: UNDO_LK_SESSIONS,
    11: UNDO_11,
    10: UNDO_10_SQLITE,
    9: ["DROP TRIGGER clients_trigrams_insert", "DROP TRIGGER clients_trigrams_update",
        "DROP TRIGGER clients_trigrams_delete", "DROP TABLE client_phone_trigrams",
        "DROP TABLE trigram_positions"],
    8: ["DROP TABLE hold_takes", "DROP TABLE holds", "DROP INDEX coupon_instances_hold",
        "ALTER TABLE coupon_instances DROP COLUMN hold_id",
        "ALTER TABLE coupon_instances DROP COLUMN shared_client_id",
        "ALTER TABLE coupon_instances DROP COLUMN shared_instance_id",
        "ALTER TABLE coupon_instances DROP COLUMN shared_ms"],
    7: ["DROP TABLE sale_points"],
    6: ["DROP TABLE idempotency"],
    5: ["DROP TABLE merchant_documents"],
    4: ["DROP INDEX orders_merchant_date", "ALTER TABLE orders DROP COLUMN reaction",
        "ALTER TABLE orders DROP COLUMN customer_comment"],
    3: ["DROP TABLE api_keys", "DROP INDEX accounts_staff_login", "DROP INDEX accounts_merchant",
        "ALTER TABLE accounts DROP COLUMN inn", "ALTER TABLE accounts DROP COLUMN staff_login",
        "ALTER TABLE accounts DROP COLUMN deleted"],
    2: ["DROP TABLE auth_counters"],
}


def sqlite_undo_to(version):
    """The statements that take a SQLite database at the newest schema back to version (the
    server stopped), the newest migration's undo first, schema_version's rows included."""
    sql = []
    for v in sorted(SQLITE_UNDO, reverse=True):
        if v > version:
            sql += SQLITE_UNDO[v]
    return sql + [f"DELETE FROM schema_version WHERE version > {version}"]


def downgrade_sqlite(path, version):
    """Takes the SQLite database at path back to schema version, in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for stmt in sqlite_undo_to(version):
            conn.execute(stmt)
        conn.execute("COMMIT")
    finally:
        conn.close()

def undo_reports(engine, db):
    """Back to the schema before the dashboard's aggregates (the server stopped), undoing the
    migrations after it first."""
    if engine == "sqlite":
        downgrade_sqlite(db, 12)
    else:
        psql(db, ";".join(UNDO_ENROL + UNDO_PASSKIT + UNDO_ERASED + UNDO_FP + UNDO_WEBHOOKS + UNDO_IMPORTS + UNDO_REPORTS_PG +
                          ["DELETE FROM schema_version WHERE version >= 14"]))


def psql(uri, sql):
    p = subprocess.run(["psql", uri, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def undo_migration_10(engine, db, extra_sql=""):
    """Back to schema 9 (the server stopped), the later migrations undone first. extra_sql runs
    in the same step."""
    if engine == "sqlite":
        conn = sqlite3.connect(db)
        try:
            conn.executescript(";".join(sqlite_undo_to(9)) + ";" + extra_sql)
        finally:
            conn.close()
    else:
        psql(db, ";".join(UNDO_ENROL + UNDO_PASSKIT + UNDO_ERASED + UNDO_FP + UNDO_WEBHOOKS + UNDO_IMPORTS + UNDO_REPORTS_PG + UNDO_LK_SESSIONS + UNDO_12_PG + UNDO_11) + ";"
                 " ALTER TABLE orders DROP CONSTRAINT orders_external_key;"
                 " ALTER TABLE orders DROP COLUMN refund_key;"
                 " ALTER TABLE orders ADD UNIQUE (merchant_id, external_id, receipt_type);"
                 " ALTER TABLE order_items DROP COLUMN product_id;"
                 + extra_sql + " DELETE FROM schema_version WHERE version >= 10")
