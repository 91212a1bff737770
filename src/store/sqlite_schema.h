/* The SQLite schema as numbered migrations. Migration N brings a database from version N-1 to
 * N; a new database runs them all. Never edit a released migration: add the next one. */
#ifndef KOPILKA_STORE_SQLITE_SCHEMA_H
#define KOPILKA_STORE_SQLITE_SCHEMA_H

#include "store/report_sql.h"

/* clang-format off */
static const char *const sqlite_migrations[] = {
	/* 1: the seed API: merchants, accounts, clients, ledger, coupons, orders. */
	"CREATE TABLE merchants ("
	" id INTEGER PRIMARY KEY, name TEXT, created_ms INTEGER NOT NULL,"
	" order_seq INTEGER NOT NULL DEFAULT 0,"
	" active INTEGER NOT NULL DEFAULT 0, currency INTEGER NOT NULL DEFAULT 0,"
	" new_coupon_id INTEGER, new_type INTEGER NOT NULL DEFAULT 1,"
	" new_amount INTEGER NOT NULL DEFAULT 0, new_valid_days INTEGER,"
	" cust_coupon_id INTEGER, cust_type INTEGER NOT NULL DEFAULT 1,"
	" cust_amount INTEGER NOT NULL DEFAULT 0, cust_valid_days INTEGER,"
	" auto_register INTEGER NOT NULL DEFAULT 1,"
	" max_spend_percent INTEGER NOT NULL DEFAULT 100);"
	"CREATE TABLE accounts ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" kind INTEGER NOT NULL, role INTEGER NOT NULL, email TEXT, email_lc TEXT UNIQUE,"
	" phone TEXT UNIQUE, password_hash TEXT NOT NULL, first_name TEXT, last_name TEXT,"
	" cred_version INTEGER NOT NULL DEFAULT 1, created_ms INTEGER NOT NULL);"
	"CREATE TABLE clients ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" email TEXT, email_lc TEXT, phone TEXT, name TEXT, avatar_url TEXT,"
	" token TEXT NOT NULL UNIQUE,"
	" paid_purchases INTEGER NOT NULL DEFAULT 0, total_purchases INTEGER NOT NULL DEFAULT 0,"
	" total_amount INTEGER NOT NULL DEFAULT 0, paid_amount INTEGER NOT NULL DEFAULT 0,"
	" positive_reviews INTEGER NOT NULL DEFAULT 0, neutral_reviews INTEGER NOT NULL DEFAULT 0,"
	" negative_reviews INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
	/* Index order (merchant, phone, rowid) serves ORDER BY phone, id and prefix ranges. */
	"CREATE UNIQUE INDEX clients_phone ON clients(merchant_id, phone);"
	"CREATE UNIQUE INDEX clients_email ON clients(merchant_id, email_lc);"
	"CREATE INDEX clients_merchant ON clients(merchant_id);"
	"CREATE TABLE balances ("
	" client_id INTEGER NOT NULL, currency INTEGER NOT NULL, merchant_id INTEGER NOT NULL,"
	" balance INTEGER NOT NULL DEFAULT 0, debt INTEGER NOT NULL DEFAULT 0,"
	" held INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (client_id, currency)) WITHOUT ROWID;"
	"CREATE TABLE lots ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, client_id INTEGER NOT NULL,"
	" currency INTEGER NOT NULL, remaining INTEGER NOT NULL, original INTEGER NOT NULL,"
	" expires_ms INTEGER, order_id INTEGER, created_ms INTEGER NOT NULL);"
	"CREATE INDEX lots_client ON lots(client_id, currency, expires_ms);"
	"CREATE INDEX lots_expiring ON lots(expires_ms) WHERE remaining > 0;"
	"CREATE TABLE ledger ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, client_id INTEGER NOT NULL,"
	" currency INTEGER NOT NULL, amount INTEGER NOT NULL, type INTEGER NOT NULL,"
	" order_id INTEGER, hold_id INTEGER, created_ms INTEGER NOT NULL);"
	"CREATE INDEX ledger_client ON ledger(client_id, currency, created_ms);"
	"CREATE TABLE lot_takes ("
	" order_id INTEGER NOT NULL, lot_id INTEGER NOT NULL, taken INTEGER NOT NULL,"
	" returned INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (order_id, lot_id)) WITHOUT ROWID;"
	"CREATE TABLE coupons ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" title TEXT NOT NULL, header TEXT, sub_header TEXT, short_description TEXT,"
	" long_description TEXT, image_path TEXT, style TEXT NOT NULL, valid_days INTEGER,"
	" valid_until INTEGER, deleted INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL);"
	"CREATE INDEX coupons_merchant ON coupons(merchant_id);"
	"CREATE TABLE coupon_instances ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, client_id INTEGER NOT NULL,"
	" coupon_id INTEGER NOT NULL REFERENCES coupons(id), status INTEGER NOT NULL DEFAULT 0,"
	" issued_ms INTEGER NOT NULL, expires_ms INTEGER, token TEXT NOT NULL UNIQUE,"
	" share_token TEXT NOT NULL UNIQUE, merchant_token TEXT NOT NULL,"
	" merchant_share_token TEXT NOT NULL, issued_order_id INTEGER, redeemed_order_id INTEGER);"
	"CREATE INDEX coupon_instances_client ON coupon_instances(client_id, status);"
	"CREATE INDEX coupon_instances_issued ON coupon_instances(issued_order_id);"
	"CREATE INDEX coupon_instances_redeemed ON coupon_instances(redeemed_order_id);"
	/* The 6-digit codes in use by usable coupons: the primary key makes them unique. */
	"CREATE TABLE coupon_codes ("
	" merchant_id INTEGER NOT NULL, code TEXT NOT NULL, instance_id INTEGER NOT NULL,"
	" PRIMARY KEY (merchant_id, code)) WITHOUT ROWID;"
	"CREATE INDEX coupon_codes_instance ON coupon_codes(instance_id);"
	"CREATE TABLE orders ("
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
	" created_by INTEGER, UNIQUE (merchant_id, external_id, receipt_type));"
	"CREATE INDEX orders_client ON orders(client_id);"
	"CREATE TABLE order_items ("
	" id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),"
	" merchant_id INTEGER NOT NULL, line_no INTEGER NOT NULL, name TEXT NOT NULL,"
	" price INTEGER NOT NULL, qty_milli INTEGER NOT NULL, unit TEXT NOT NULL, vat INTEGER,"
	" total INTEGER NOT NULL, refunded_qty INTEGER NOT NULL DEFAULT 0,"
	" refunded_total INTEGER NOT NULL DEFAULT 0, refund_of_item INTEGER);"
	"CREATE INDEX order_items_order ON order_items(order_id);",
	/* 2: lockout counters in the database, shared by every process on it. */
	"CREATE TABLE auth_counters ("
	" key TEXT PRIMARY KEY, failures INTEGER NOT NULL, window_start_ms INTEGER NOT NULL,"
	" locked_until_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/* 3: staff (employees with a staff number and taxpayer number) and API keys. */
	"ALTER TABLE accounts ADD COLUMN inn TEXT;"
	"ALTER TABLE accounts ADD COLUMN staff_login TEXT;"
	"ALTER TABLE accounts ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX accounts_staff_login ON accounts(merchant_id, staff_login);"
	"CREATE INDEX accounts_merchant ON accounts(merchant_id);"
	"CREATE TABLE api_keys ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, account_id INTEGER NOT NULL"
	" REFERENCES accounts(id), key_hash TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	" revoked_ms INTEGER);"
	"CREATE INDEX api_keys_merchant ON api_keys(merchant_id);",
	/* 4: customers' reactions to orders; listing orders newest first. */
	"ALTER TABLE orders ADD COLUMN reaction INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN customer_comment TEXT;"
	"CREATE INDEX orders_merchant_date ON orders(merchant_id, order_date_ms);",
	/* 5: merchants' settings documents (write-off rules, contact info). */
	"CREATE TABLE merchant_documents ("
	" merchant_id INTEGER NOT NULL REFERENCES merchants(id), name TEXT NOT NULL,"
	" json TEXT NOT NULL, PRIMARY KEY (merchant_id, name)) WITHOUT ROWID;",
	/* 6: Idempotency-Key records (kept 7 days). */
	"CREATE TABLE idempotency ("
	" merchant_id INTEGER NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,"
	" request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL, PRIMARY KEY (merchant_id, scope, key)) WITHOUT ROWID;"
	"CREATE INDEX idempotency_created ON idempotency(created_ms);",
	/* 7: sale points. */
	/* AUTOINCREMENT: a deleted point's id is never given to a new one. */
	"CREATE TABLE sale_points ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" region TEXT, city TEXT, address TEXT, phone TEXT);"
	"CREATE INDEX sale_points_merchant ON sale_points(merchant_id);",
	/* 8: holds (two-phase spends and direct write-offs), what they took from which lot, the
	 * coupons they reserved; shared coupons' redemption. */
	"CREATE TABLE holds ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" client_id INTEGER NOT NULL, currency INTEGER NOT NULL, amount INTEGER NOT NULL,"
	" transaction_id TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, status INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, ended_ms INTEGER,"
	" order_id INTEGER, fiscal_order_id TEXT, created_by INTEGER);"
	"CREATE INDEX holds_client ON holds(client_id, expires_ms) WHERE status = 0;"
	"CREATE INDEX holds_expiring ON holds(expires_ms) WHERE status = 0;"
	"CREATE TABLE hold_takes ("
	" hold_id INTEGER NOT NULL, lot_id INTEGER NOT NULL, taken INTEGER NOT NULL,"
	" PRIMARY KEY (hold_id, lot_id)) WITHOUT ROWID;"
	"ALTER TABLE coupon_instances ADD COLUMN hold_id INTEGER;"
	"ALTER TABLE coupon_instances ADD COLUMN shared_client_id INTEGER;"
	"ALTER TABLE coupon_instances ADD COLUMN shared_instance_id INTEGER;"
	"ALTER TABLE coupon_instances ADD COLUMN shared_ms INTEGER;"
	"CREATE INDEX coupon_instances_hold ON coupon_instances(hold_id) WHERE hold_id IS NOT NULL;",
	/* 9: an ordered trigram index of client phones, so that an infix pattern (%4567%) walks
	 * only the phones holding one of its trigrams, in (phone, id) order, and stops at LIMIT
	 * (see sq_client_search). A row per distinct 3-character substring of each phone; kept
	 * by the triggers on every insert, phone change and delete; filled here for an existing
	 * database. trigram_positions (1..254) lets a trigger enumerate the substrings without a
	 * recursive CTE, which trigger bodies cannot hold. */
	"CREATE TABLE trigram_positions (n INTEGER PRIMARY KEY);"
	"WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 254)"
	" INSERT INTO trigram_positions SELECT n FROM k;"
	"CREATE TABLE client_phone_trigrams ("
	" merchant_id INTEGER NOT NULL, tri TEXT NOT NULL, phone TEXT NOT NULL,"
	" client_id INTEGER NOT NULL, PRIMARY KEY (merchant_id, tri, phone, client_id))"
	" WITHOUT ROWID;"
	"INSERT OR IGNORE INTO client_phone_trigrams"
	" SELECT c.merchant_id, substr(c.phone, p.n, 3), c.phone, c.id"
	" FROM clients c JOIN trigram_positions p ON p.n <= length(c.phone) - 2"
	" WHERE c.phone IS NOT NULL ORDER BY 1, 2, 3, 4;"
	"CREATE TRIGGER clients_trigrams_insert AFTER INSERT ON clients"
	" WHEN new.phone IS NOT NULL BEGIN"
	" INSERT OR IGNORE INTO client_phone_trigrams"
	"  SELECT new.merchant_id, substr(new.phone, n, 3), new.phone, new.id"
	"  FROM trigram_positions WHERE n <= length(new.phone) - 2;"
	" END;"
	"CREATE TRIGGER clients_trigrams_delete AFTER DELETE ON clients"
	" WHEN old.phone IS NOT NULL BEGIN"
	" DELETE FROM client_phone_trigrams WHERE merchant_id = old.merchant_id"
	"  AND phone = old.phone AND client_id = old.id AND tri IN (SELECT substr(old.phone, n, 3)"
	"  FROM trigram_positions WHERE n <= length(old.phone) - 2);"
	" END;"
	"CREATE TRIGGER clients_trigrams_update AFTER UPDATE OF phone, merchant_id ON clients"
	" WHEN old.phone IS NOT new.phone OR old.merchant_id IS NOT new.merchant_id BEGIN"
	" DELETE FROM client_phone_trigrams WHERE merchant_id = old.merchant_id"
	"  AND phone = old.phone AND client_id = old.id AND tri IN (SELECT substr(old.phone, n, 3)"
	"  FROM trigram_positions WHERE n <= length(old.phone) - 2);"
	" INSERT OR IGNORE INTO client_phone_trigrams"
	"  SELECT new.merchant_id, substr(new.phone, n, 3), new.phone, new.id"
	"  FROM trigram_positions WHERE n <= length(new.phone) - 2 AND new.phone IS NOT NULL;"
	" END;",
	/* 10: the POS's product id on order items (the seed's items.Id); refunds in the seed's
	 * form, one order per (externalId, fd) of the sale they refund (API.md 3.3), so the
	 * identity of an order gains refund_key. SQLite cannot change a table's UNIQUE
	 * constraint: the table is rebuilt (migrate() runs with foreign keys off and checks them
	 * before it commits). Coupons a written-off hold redeemed are the hold's alone, never the
	 * order's it named, so a refund of that order cannot bring them back (issue 12, B7). */
	"ALTER TABLE order_items ADD COLUMN product_id TEXT;"
	"CREATE TABLE orders_v10 ("
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
	" refund_key TEXT NOT NULL DEFAULT '',"
	" UNIQUE (merchant_id, external_id, receipt_type, refund_key));"
	"INSERT INTO orders_v10 (id, merchant_id, external_id, receipt_type, order_number,"
	" client_id, order_date_ms, external_date_ms, total, card, cash, spent_currency, spent,"
	" accrued_currency, accrued, refund_of, refunded_total, accrual_taken, spend_returned,"
	" paid_refunded, fully_refunded, fn, fd, comment, public_token, request_hash, response,"
	" created_by, reaction, customer_comment)"
	" SELECT id, merchant_id, external_id, receipt_type, order_number,"
	" client_id, order_date_ms, external_date_ms, total, card, cash, spent_currency, spent,"
	" accrued_currency, accrued, refund_of, refunded_total, accrual_taken, spend_returned,"
	" paid_refunded, fully_refunded, fn, fd, comment, public_token, request_hash, response,"
	" created_by, reaction, customer_comment FROM orders;"
	"DROP TABLE orders;"
	"ALTER TABLE orders_v10 RENAME TO orders;"
	"CREATE INDEX orders_client ON orders(client_id);"
	"CREATE INDEX orders_merchant_date ON orders(merchant_id, order_date_ms);"
	"UPDATE coupon_instances SET redeemed_order_id = NULL WHERE status = 1"
	" AND hold_id IN (SELECT id FROM holds WHERE status = 1);",
	/* 11: the instance a shared coupon was received for, found from the received one: an
	 * instance received through a share cannot be shared again (API.md 4.5). */
	"CREATE INDEX coupon_instances_shared ON coupon_instances(shared_instance_id)"
	" WHERE shared_instance_id IS NOT NULL;",
	/* 12: the merchant cabinet's sign-in sessions (api/session.c): the SHA-256 of the cookie
	 * token, never the token; the account's cred_version and role at sign-in, so a change of
	 * either ends the session on every node. */
	"CREATE TABLE lk_sessions ("
	" token_hash TEXT PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),"
	" merchant_id INTEGER NOT NULL REFERENCES merchants(id), csrf_token TEXT NOT NULL,"
	" cred_version INTEGER NOT NULL, role INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	" seen_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX lk_sessions_seen ON lk_sessions(seen_ms);"
	"CREATE INDEX lk_sessions_created ON lk_sessions(created_ms);",
	/* 13: the dashboard's aggregates (store/report_sql.h: what each table sums), kept by
	 * triggers in the transaction that writes the rows they sum, filled here for an existing
	 * database; the best-paying clients by an index; the merchant's debts by a partial index
	 * (a few rows). */
	"CREATE TABLE report_totals ("
	" merchant_id INTEGER NOT NULL, slot INTEGER NOT NULL, members INTEGER NOT NULL DEFAULT 0,"
	" buyers INTEGER NOT NULL DEFAULT 0, repeat_buyers INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (merchant_id, slot)) WITHOUT ROWID;"
	"CREATE TABLE report_days ("
	" merchant_id INTEGER NOT NULL, day INTEGER NOT NULL, slot INTEGER NOT NULL,"
	" joined INTEGER NOT NULL DEFAULT 0, sales INTEGER NOT NULL DEFAULT 0,"
	" amount INTEGER NOT NULL DEFAULT 0, program_sales INTEGER NOT NULL DEFAULT 0,"
	" program_amount INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (merchant_id, day, slot))"
	" WITHOUT ROWID;"
	"CREATE TABLE ledger_days ("
	" merchant_id INTEGER NOT NULL, currency INTEGER NOT NULL, day INTEGER NOT NULL,"
	" type INTEGER NOT NULL, slot INTEGER NOT NULL, amount INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (merchant_id, currency, day, type, slot)) WITHOUT ROWID;"
	"CREATE TABLE lot_days ("
	" merchant_id INTEGER NOT NULL, currency INTEGER NOT NULL, day INTEGER NOT NULL,"
	" slot INTEGER NOT NULL, remaining INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (merchant_id, currency, day, slot)) WITHOUT ROWID;"
	REPORT_BACKFILL
	"CREATE INDEX clients_paid ON clients(merchant_id, paid_amount DESC, id);"
	"CREATE INDEX balances_debt ON balances(merchant_id, currency) WHERE debt > 0;"
	"CREATE TRIGGER report_clients_insert AFTER INSERT ON clients BEGIN"
	" INSERT INTO report_totals(merchant_id, slot, members, buyers, repeat_buyers)"
	"  VALUES (new.merchant_id, 0, 1, new.total_purchases >= 1,"
	"  new.total_purchases >= 2) ON CONFLICT (merchant_id, slot) DO UPDATE"
	"  SET members = members + 1, buyers = buyers + excluded.buyers,"
	"  repeat_buyers = repeat_buyers + excluded.repeat_buyers;"
	" INSERT INTO report_days(merchant_id, day, slot, joined)"
	"  VALUES (new.merchant_id, " REPORT_DAY_SQL("new.created_ms") ", 0, 1)"
	"  ON CONFLICT (merchant_id, day, slot) DO UPDATE"
	"  SET joined = joined + 1;"
	" END;"
	"CREATE TRIGGER report_clients_purchases AFTER UPDATE OF total_purchases ON clients"
	" WHEN (old.total_purchases >= 1) <> (new.total_purchases >= 1)"
	" OR (old.total_purchases >= 2) <> (new.total_purchases >= 2) BEGIN"
	" INSERT INTO report_totals(merchant_id, slot, buyers, repeat_buyers)"
	"  VALUES (new.merchant_id, 0, (new.total_purchases >= 1) - (old.total_purchases >= 1),"
	"  (new.total_purchases >= 2) - (old.total_purchases >= 2))"
	"  ON CONFLICT (merchant_id, slot) DO UPDATE SET buyers = buyers + excluded.buyers,"
	"  repeat_buyers = repeat_buyers + excluded.repeat_buyers;"
	" END;"
	"CREATE TRIGGER report_orders_insert AFTER INSERT ON orders BEGIN"
	" INSERT INTO report_days(merchant_id, day, slot, sales, amount, program_sales,"
	"  program_amount) VALUES (new.merchant_id, " REPORT_DAY_SQL("new.order_date_ms") ","
	"  0, new.receipt_type = 0,"
	"  CASE WHEN new.receipt_type = 0 THEN new.total ELSE -new.total END,"
	"  new.receipt_type = 0 AND new.client_id IS NOT NULL,"
	"  CASE WHEN new.client_id IS NULL THEN 0 WHEN new.receipt_type = 0 THEN new.total"
	"  ELSE -new.total END) ON CONFLICT (merchant_id, day, slot) DO UPDATE"
	"  SET sales = sales + excluded.sales, amount = amount + excluded.amount,"
	"  program_sales = program_sales + excluded.program_sales,"
	"  program_amount = program_amount + excluded.program_amount;"
	" END;"
	"CREATE TRIGGER report_ledger_insert AFTER INSERT ON ledger BEGIN"
	" INSERT INTO ledger_days(merchant_id, currency, day, type, slot, amount)"
	"  VALUES (new.merchant_id, new.currency, " REPORT_DAY_SQL("new.created_ms") ", new.type,"
	"  0, new.amount)"
	"  ON CONFLICT (merchant_id, currency, day, type, slot) DO UPDATE"
	"  SET amount = amount + excluded.amount;"
	" END;"
	"CREATE TRIGGER report_lots_insert AFTER INSERT ON lots BEGIN"
	" INSERT INTO lot_days(merchant_id, currency, day, slot, remaining)"
	"  VALUES (new.merchant_id, new.currency, " REPORT_LOT_DAY_SQL("new.expires_ms") ", 0,"
	"  new.remaining)"
	"  ON CONFLICT (merchant_id, currency, day, slot) DO UPDATE"
	"  SET remaining = remaining + excluded.remaining;"
	" END;"
	"CREATE TRIGGER report_lots_update AFTER UPDATE OF remaining ON lots"
	" WHEN new.remaining <> old.remaining BEGIN"
	" INSERT INTO lot_days(merchant_id, currency, day, slot, remaining)"
	"  VALUES (new.merchant_id, new.currency, " REPORT_LOT_DAY_SQL("new.expires_ms") ", 0,"
	"  new.remaining - old.remaining) ON CONFLICT (merchant_id, currency, day, slot) DO UPDATE"
	"  SET remaining = remaining + excluded.remaining;"
	" END;",
	/* 14: manual adjustments carry a reason on their ledger row; customer imports (issue 14):
	 * one per merchant and file hash, the file kept (as UTF-8) between preview and apply, and
	 * the answer of its apply, replayed when the same file is applied again. */
	"ALTER TABLE ledger ADD COLUMN reason TEXT;"
	"CREATE TABLE imports ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" sha256 TEXT NOT NULL, status INTEGER NOT NULL, total_rows INTEGER NOT NULL,"
	" valid_rows INTEGER NOT NULL, problems INTEGER NOT NULL, csv TEXT NOT NULL,"
	" result TEXT, created_by INTEGER, created_ms INTEGER NOT NULL, applied_ms INTEGER,"
	" UNIQUE (merchant_id, sha256));",
	/* 15: signed webhooks (issue 16): a merchant's endpoints (events: a mask of enum
	 * event_type), the outbox of events written in the transaction of their change, one
	 * delivery per (event, endpoint) with its retry state and lease, each attempt's outcome,
	 * and the lots whose points.expiring was sent. */
	"CREATE TABLE webhook_endpoints ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" url TEXT NOT NULL, secret TEXT NOT NULL, events INTEGER NOT NULL,"
	" active INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints(merchant_id);"
	"CREATE TABLE webhook_events ("
	" id INTEGER PRIMARY KEY, public_id TEXT NOT NULL UNIQUE,"
	" merchant_id INTEGER NOT NULL, type INTEGER NOT NULL, client_id INTEGER,"
	" created_ms INTEGER NOT NULL, data TEXT NOT NULL);"
	"CREATE TABLE webhook_deliveries ("
	" id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL REFERENCES webhook_events(id),"
	" endpoint_id INTEGER NOT NULL, merchant_id INTEGER NOT NULL, client_id INTEGER,"
	" status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_ms INTEGER NOT NULL, first_ms INTEGER NOT NULL, lease_until INTEGER NOT NULL"
	" DEFAULT 0, lease_token TEXT, last_status INTEGER, last_error TEXT,"
	" created_ms INTEGER NOT NULL, UNIQUE (event_id, endpoint_id));"
	"CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_ms) WHERE status = 0;"
	"CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, client_id,"
	" event_id) WHERE status = 0;"
	"CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);"
	"CREATE INDEX webhook_deliveries_lease ON webhook_deliveries(lease_token);"
	"CREATE TABLE webhook_attempts ("
	" id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
	" http_status INTEGER, error TEXT, latency_ms INTEGER NOT NULL);"
	"CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);"
	"CREATE TABLE webhook_lot_notices (lot_id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL);",
	/* 16: the fiscal sign (ФП) of an order's receipt, optional digits, for the receipt
	 * page's fiscal QR code (issue 15). */
	"ALTER TABLE orders ADD COLUMN fp TEXT;",
	/* 17: personal data on request (issue 15, 152-FZ): when a client's personal data was
	 * erased; the outbox's events by client, so an erasure finds and scrubs theirs. */
	"ALTER TABLE clients ADD COLUMN erased_ms INTEGER;"
	"CREATE INDEX webhook_events_client ON webhook_events(client_id)"
	" WHERE client_id IS NOT NULL;",
	/* 18: Apple Wallet pass updates (issue 15): the devices registered for a client's pass
	 * through the PassKit web service (their APNs push token), and card_updates, one row per
	 * client with a registered device: the pass's update tag (updated_ms) and the durable
	 * queue of pushes (pending, due at next_ms, under a lease while a worker sends it), written
	 * in the transaction of the balance or coupon change. */
	"CREATE TABLE pass_registrations ("
	" device_id TEXT NOT NULL, pass_type_id TEXT NOT NULL, merchant_id INTEGER NOT NULL,"
	" client_id INTEGER NOT NULL, push_token TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	" PRIMARY KEY (device_id, pass_type_id, client_id));"
	"CREATE INDEX pass_registrations_client ON pass_registrations(client_id);"
	"CREATE TABLE card_updates ("
	" client_id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
	" pending INTEGER NOT NULL DEFAULT 0, next_ms INTEGER NOT NULL DEFAULT 0,"
	" first_ms INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
	" lease_until INTEGER NOT NULL DEFAULT 0, lease_token TEXT);"
	"CREATE INDEX card_updates_due ON card_updates(next_ms) WHERE pending = 1;",
	/* 19: self-enrolment (issue 15): a merchant's join code (the public join page /j/{code},
	 * 64 random bits in hex, made here for the merchants there are and by merchant_create for
	 * new ones); what a client consented to and when (152-FZ) and their birthday; the pending
	 * enrolments, each a one-time code sent by SMS (its hash), counted for the rate limits. */
	"ALTER TABLE merchants ADD COLUMN join_code TEXT;"
	"UPDATE merchants SET join_code = lower(hex(randomblob(8)));"
	"CREATE UNIQUE INDEX merchants_join_code ON merchants(join_code);"
	"ALTER TABLE clients ADD COLUMN birthday TEXT;"
	"ALTER TABLE clients ADD COLUMN consent_version TEXT;"
	"ALTER TABLE clients ADD COLUMN consent_ms INTEGER;"
	"CREATE TABLE enrolments ("
	" id INTEGER PRIMARY KEY, merchant_id INTEGER NOT NULL REFERENCES merchants(id),"
	" token TEXT NOT NULL UNIQUE, phone TEXT NOT NULL, name TEXT, email TEXT, birthday TEXT,"
	" consent_version TEXT NOT NULL, code_hash TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0, expires_ms INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL, addr TEXT NOT NULL, client_id INTEGER);"
	"CREATE INDEX enrolments_phone ON enrolments(phone, created_ms);"
	"CREATE INDEX enrolments_addr ON enrolments(addr, created_ms);"
	"CREATE INDEX enrolments_created ON enrolments(created_ms);",
};
/* clang-format on */

#endif
