/* Unit tests of the operations written once over the SQL driver (store/sql.h), run on a real
 * SQLite database in a temporary directory: the `$N` rewrite and the "C" collation of the
 * SQLite driver, the result codes each helper promises (CONFLICT, NOT_FOUND, changes), and the
 * savepoint that makes the coupon code operations all or nothing. PostgreSQL runs the same
 * code under the black-box suite (tests/api, both engines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/accounts.h"
#include "store/catalog.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/ledger.h"
#include "store/merchant.h"
#include "store/store.h"
#include "store/webhooks.h"
#include "store_fixture.h"

struct fixture {
	struct store_fixture db;
	struct store_conn *c;
	int64_t merchant_id, client_id, coupon_id;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	store_fixture_open(&f->db);
	f->c = f->db.c;
	f->merchant_id = f->db.merchant_id;
	f->client_id = store_fixture_client(&f->db, "79990000001");
	struct catalog_coupon cc = {
	    .merchant_id = f->merchant_id, .title = "Coffee", .style = "{}"};
	assert_int_equal(STORE(f->c, catalog_create, &cc, &f->coupon_id), STORE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_fixture_close(&f->db);
	free(f);
	return 0;
}

static enum store_rc issue(struct fixture *f, const char *token, const char *code,
			   const char *share_code, int64_t *id)
{
	struct coupon_instance ci = {.merchant_id = f->merchant_id,
				     .client_id = f->client_id,
				     .coupon_id = f->coupon_id,
				     .issued_ms = now_ms()};
	snprintf(ci.token, sizeof(ci.token), "%s", token);
	snprintf(ci.share_token, sizeof(ci.share_token), "%s-s", token);
	snprintf(ci.merchant_token, sizeof(ci.merchant_token), "%s", code);
	snprintf(ci.merchant_share_token, sizeof(ci.merchant_share_token), "%s", share_code);
	return STORE(f->c, coupon_issue, &ci, id);
}

static int64_t by_code(struct fixture *f, const char *code)
{
	int64_t id = 0;
	enum store_rc rc = STORE(f->c, coupon_find_token, f->merchant_id, 2, code, &id);
	return rc == STORE_OK ? id : -(int64_t)rc;
}

static bool count_row(void *ctx, const struct coupon_instance *ci)
{
	(void)ci;
	(*(int *)ctx)++;
	return true;
}

/* A code another usable instance holds: set_codes answers CONFLICT and leaves the instance's
 * old codes claimed and written (the SQLite copy used to free them and keep nothing). */
static void test_set_codes_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	int64_t a, b;
	assert_int_equal(issue(f, "ta", "AAAAA1", "AAAAA2", &a), STORE_OK);
	assert_int_equal(issue(f, "tb", "BBBBB1", "BBBBB2", &b), STORE_OK);
	assert_int_equal(STORE(f->c, coupon_set_codes, a, "CCCCC1", "BBBBB1"), STORE_CONFLICT);
	assert_int_equal(by_code(f, "AAAAA1"), a);
	assert_int_equal(by_code(f, "AAAAA2"), a);
	assert_int_equal(by_code(f, "CCCCC1"), -(int64_t)STORE_NOT_FOUND);
	struct coupon_instance got = {0};
	assert_int_equal(STORE(f->c, coupon_get, f->merchant_id, a, &got), STORE_OK);
	assert_string_equal(got.merchant_token, "AAAAA1");
	assert_string_equal(got.catalog.title, "Coffee");
	coupon_instance_clear(&got);
	/* And a free pair goes through whole. */
	assert_int_equal(STORE(f->c, coupon_set_codes, a, "CCCCC1", "CCCCC2"), STORE_OK);
	assert_int_equal(by_code(f, "CCCCC2"), a);
	assert_int_equal(by_code(f, "AAAAA1"), -(int64_t)STORE_NOT_FOUND);
}

/* An issue whose second code clashes leaves no instance and no first code behind. */
static void test_issue_conflict_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	int64_t a, b = 0;
	assert_int_equal(issue(f, "ta", "AAAAA1", "AAAAA2", &a), STORE_OK);
	assert_int_equal(issue(f, "tb", "BBBBB1", "AAAAA2", &b), STORE_CONFLICT);
	assert_int_equal(by_code(f, "BBBBB1"), -(int64_t)STORE_NOT_FOUND);
	int n = 0;
	assert_int_equal(
	    STORE(f->c, coupons_usable, f->merchant_id, f->client_id, 0, count_row, &n), STORE_OK);
	assert_int_equal(n, 1);
	/* Redeemed frees the codes; usable again claims them anew. */
	assert_int_equal(STORE(f->c, coupon_set_status, a, COUPON_REDEEMED, 0), STORE_OK);
	assert_int_equal(by_code(f, "AAAAA1"), -(int64_t)STORE_NOT_FOUND);
	assert_int_equal(STORE(f->c, coupon_set_status, a, COUPON_ISSUED, 0), STORE_OK);
	assert_int_equal(by_code(f, "AAAAA1"), a);
}

/* An INSERT's "RETURNING id" is read from the rowid on SQLite (sqlite.c, rowid_returning): the
 * id is the inserted row's, not that of a row its triggers inserted (a client's insert adds
 * its phone's trigrams and a report row), and an insert that ON CONFLICT DO NOTHING skipped
 * gives none (test_issue_conflict_leaves_nothing), nor the id of the insert before it. */
static void test_insert_ids(void **state)
{
	struct fixture *f = *state;
	int64_t a = store_fixture_client(&f->db, "79990000002");
	int64_t b = store_fixture_client(&f->db, "79990000003");
	assert_true(a > f->client_id);
	assert_int_equal(b, a + 1);
	struct client cl = {0};
	assert_int_equal(store_client_get(f->c, f->merchant_id, b, &cl), STORE_OK);
	assert_string_equal(cl.phone, "79990000003");
	client_clear(&cl);

	int64_t first = 0, again = 0, next = 0;
	assert_int_equal(issue(f, "ta", "AAAAA1", "BBBBB1", &first), STORE_OK);
	assert_int_equal(issue(f, "ta", "CCCCC1", "DDDDD1", &again), STORE_CONFLICT);
	assert_int_equal(again, 0);
	assert_int_equal(issue(f, "tb", "CCCCC1", "DDDDD1", &next), STORE_OK);
	assert_int_equal(next, first + 1);
}

/* Accounts: the "C" collation and `$N` reuse (ACCOUNT_FIND binds $1 twice), CONFLICT on a
 * taken login, the credential version bumped by a password only, NOT_FOUND after delete. */
static void test_accounts(void **state)
{
	struct fixture *f = *state;
	struct account a = {.merchant_id = f->merchant_id,
			    .kind = ACCOUNT_EMPLOYEE,
			    .role = ROLE_CASHIER,
			    .email = "Ann.Lee@Example.RU",
			    .phone = "79990000002",
			    .password_hash = "h1"};
	int64_t id = 0, id2 = 0;
	assert_int_equal(STORE(f->c, account_create, &a, &id), STORE_OK);
	assert_int_equal(STORE(f->c, account_create, &a, &id2), STORE_CONFLICT);
	struct account got = {0};
	assert_int_equal(STORE(f->c, account_find_login, "ann.lee@example.ru", &got), STORE_OK);
	assert_int_equal(got.id, id);
	assert_string_equal(got.email, "Ann.Lee@Example.RU");
	int64_t version = got.cred_version;
	account_clear(&got);
	assert_int_equal(STORE(f->c, account_find_login, "79990000002", &got), STORE_OK);
	account_clear(&got);

	struct account upd = a;
	upd.id = id;
	upd.password_hash = NULL;
	upd.first_name = "Ann";
	assert_int_equal(STORE(f->c, account_update, &upd), STORE_OK);
	assert_int_equal(STORE(f->c, account_get, f->merchant_id, id, &got), STORE_OK);
	assert_int_equal(got.cred_version, version);
	assert_string_equal(got.first_name, "Ann");
	assert_string_equal(got.password_hash, "h1");
	account_clear(&got);
	upd.password_hash = "h2";
	assert_int_equal(STORE(f->c, account_update, &upd), STORE_OK);
	assert_int_equal(STORE(f->c, account_self, id, &got), STORE_OK);
	assert_int_equal(got.cred_version, version + 1);
	assert_string_equal(got.password_hash, "h2");
	account_clear(&got);

	assert_int_equal(STORE(f->c, account_delete, f->merchant_id, id), STORE_OK);
	assert_int_equal(STORE(f->c, account_self, id, &got), STORE_NOT_FOUND);
	assert_int_equal(STORE(f->c, account_delete, f->merchant_id, id), STORE_NOT_FOUND);
	upd.id = id + 1000;
	assert_int_equal(STORE(f->c, account_update, &upd), STORE_NOT_FOUND);
}

/* Idempotency records: a second put is CONFLICT; purge reports how many rows it deleted. */
static void test_idempotency_records(void **state)
{
	struct fixture *f = *state;
	struct idem_record in = {.status = 200, .body = "{}", .created_ms = 1000};
	snprintf(in.request_hash, sizeof(in.request_hash), "abc");
	assert_int_equal(STORE(f->c, idem_put, f->merchant_id, "POST /x", "k1", &in), STORE_OK);
	assert_int_equal(STORE(f->c, idem_put, f->merchant_id, "POST /x", "k1", &in),
			 STORE_CONFLICT);
	in.created_ms = 5000;
	assert_int_equal(STORE(f->c, idem_put, f->merchant_id, "POST /x", "k2", &in), STORE_OK);
	struct idem_record got = {0};
	assert_int_equal(STORE(f->c, idem_get, f->merchant_id, "POST /x", "k1", 0, &got), STORE_OK);
	assert_string_equal(got.request_hash, "abc");
	assert_string_equal(got.body, "{}");
	free(got.body);
	assert_int_equal(STORE(f->c, idem_get, f->merchant_id, "POST /x", "k1", 2000, &got),
			 STORE_NOT_FOUND);
	int64_t n = -1;
	assert_int_equal(STORE(f->c, idem_purge, 2000, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(STORE(f->c, idem_purge, 2000, &n), STORE_OK);
	assert_int_equal(n, 0);
}

/* Documents and auth counters: put is insert or replace (ON CONFLICT DO UPDATE on both). */
static void test_upserts(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(STORE(f->c, document_put, f->merchant_id, "rules", "{\"a\":1}"), STORE_OK);
	assert_int_equal(STORE(f->c, document_put, f->merchant_id, "rules", "{\"a\":2}"), STORE_OK);
	char *json = NULL;
	assert_int_equal(STORE(f->c, document_get, f->merchant_id, "rules", &json), STORE_OK);
	assert_string_equal(json, "{\"a\":2}");
	free(json);
	assert_int_equal(STORE(f->c, document_get, f->merchant_id, "none", &json), STORE_NOT_FOUND);
	struct auth_counter ac = {.failures = 1, .window_start_ms = 10, .locked_until_ms = 0};
	assert_int_equal(STORE(f->c, auth_counter_put, "key", &ac), STORE_OK);
	ac.failures = 5;
	assert_int_equal(STORE(f->c, auth_counter_put, "key", &ac), STORE_OK);
	struct auth_counter got = {0};
	assert_int_equal(STORE(f->c, auth_counter_get, "key", &got), STORE_OK);
	assert_int_equal(got.failures, 5);
}

/* The merchant's webhook subscriptions are read once a transaction (store_webhook_mask keeps
 * them on the connection): a creation, change or deletion of an endpoint in that transaction
 * is seen by the next read. */
static void test_webhook_mask_read_once_a_transaction(void **state)
{
	struct fixture *f = *state;
	int64_t mask = -1, id = 0;
	assert_int_equal(STORE(f->c, webhook_mask, f->merchant_id, &mask), STORE_OK);
	assert_int_equal(mask, 0);
	struct webhook_endpoint e = {.merchant_id = f->merchant_id,
				     .url = "http://127.0.0.1:9/hook",
				     .secret = "s",
				     .events = 6,
				     .active = true,
				     .created_ms = 1};
	assert_int_equal(STORE(f->c, webhook_create, &e, &id), STORE_OK);
	assert_int_equal(STORE(f->c, webhook_mask, f->merchant_id, &mask), STORE_OK);
	assert_int_equal(mask, 6);
	e.id = id;
	e.events = 9;
	assert_int_equal(STORE(f->c, webhook_update, &e), STORE_OK);
	assert_int_equal(STORE(f->c, webhook_mask, f->merchant_id, &mask), STORE_OK);
	assert_int_equal(mask, 9);
	assert_int_equal(STORE(f->c, webhook_delete, f->merchant_id, id), STORE_OK);
	assert_int_equal(STORE(f->c, webhook_mask, f->merchant_id, &mask), STORE_OK);
	assert_int_equal(mask, 0);
}

/* The balance and the spendable lots in one statement: the same rows and order as
 * store_balance_get and store_lots_spendable apart, with and without a balance row or a live
 * lot, and at most max lots. */
static void test_balance_lots_in_one_read(void **state)
{
	struct fixture *f = *state;
	struct balance b = {.balance_minor = -1};
	struct lot lots[8];
	size_t n = 99;
	assert_int_equal(STORE(f->c, balance_lots, f->client_id, CUR_POINTS, 1000, &b, lots, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(b.balance_minor, 0);
	assert_int_equal(b.held_minor, 0);
	/* Spendable at 1000: 30 expiring at 5000, 20 at 3000, 10 never; not the one expired at
	 * 900, nor the empty one. */
	const struct {
		money_t remaining;
		int64_t expires;
	} rows[] = {{30, 5000}, {10, 0}, {20, 3000}, {40, 900}, {0, 4000}};
	int64_t ids[5];
	for (int i = 0; i < 5; i++) {
		struct lot l = {.client_id = f->client_id,
				.currency = CUR_POINTS,
				.remaining_minor = rows[i].remaining,
				.original_minor = 50,
				.expires_ms = rows[i].expires};
		assert_int_equal(STORE(f->c, lot_create, f->merchant_id, &l, &ids[i]), STORE_OK);
	}
	assert_int_equal(
	    STORE(f->c, balance_add, f->merchant_id, f->client_id, CUR_POINTS, 60, 2, 5), STORE_OK);
	assert_int_equal(STORE(f->c, sync), STORE_OK);
	assert_int_equal(STORE(f->c, balance_lots, f->client_id, CUR_POINTS, 1000, &b, lots, 8, &n),
			 STORE_OK);
	assert_int_equal(b.balance_minor, 60);
	assert_int_equal(b.debt_minor, 2);
	assert_int_equal(b.held_minor, 5);
	assert_int_equal(n, 3);
	assert_int_equal(lots[0].id, ids[2]);
	assert_int_equal(lots[0].remaining_minor, 20);
	assert_int_equal(lots[0].expires_ms, 3000);
	assert_int_equal(lots[1].id, ids[0]);
	assert_int_equal(lots[2].id, ids[1]);
	assert_int_equal(lots[2].expires_ms, 0);
	assert_int_equal(lots[2].client_id, f->client_id);
	assert_int_equal(lots[2].original_minor, 50);
	struct lot apart[8];
	size_t n_apart = 0;
	assert_int_equal(
	    STORE(f->c, lots_spendable, f->client_id, CUR_POINTS, 1000, apart, 8, &n_apart),
	    STORE_OK);
	assert_int_equal(n_apart, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(apart[i].id, lots[i].id);
		assert_int_equal(apart[i].merchant_id, lots[i].merchant_id);
		assert_int_equal(apart[i].currency, lots[i].currency);
		assert_int_equal(apart[i].remaining_minor, lots[i].remaining_minor);
		assert_int_equal(apart[i].expires_ms, lots[i].expires_ms);
		assert_int_equal(apart[i].order_id, lots[i].order_id);
	}
	/* At most max: the soonest-expiring two, the balance all the same. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(STORE(f->c, balance_lots, f->client_id, CUR_POINTS, 1000, &b, lots, 2, &n),
			 STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(lots[1].id, ids[0]);
	assert_int_equal(b.balance_minor, 60);
	/* Another currency: neither the lots nor the balance. */
	assert_int_equal(STORE(f->c, balance_lots, f->client_id, CUR_RUBLES, 1000, &b, lots, 8, &n),
			 STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(b.balance_minor, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_set_codes_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_conflict_leaves_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upserts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_webhook_mask_read_once_a_transaction, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_balance_lots_in_one_read, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
