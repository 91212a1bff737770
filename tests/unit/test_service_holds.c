/* Unit tests of the hold workflows of service/holds.c (API.md 4.1, 4.3) on a real SQLite
 * database: what each decides (the outcome: kind, code, the field its message names) and
 * what it leaves in the ledger, without HTTP. The black-box suite runs the same through the
 * API on both engines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "store/holds.h"
#include "store/orders.h"
#include "store/store.h"
#include "store_fixture.h"

#define MINOR(units) ((money_t)(units)*100)

struct fixture {
	struct store_fixture db;
	struct store_conn *c;
	int64_t merchant_id, client_id, other_client_id;
	int64_t now;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	store_fixture_open(&f->db);
	f->c = f->db.c;
	f->merchant_id = f->db.merchant_id;
	f->now = f->db.now;
	f->client_id = store_fixture_client(&f->db, "79990000001");
	f->other_client_id = store_fixture_client(&f->db, "79990000002");
	assert_int_equal(
	    ledger_accrue(f->c, f->merchant_id, f->client_id, CUR_POINTS, MINOR(100), 0, 0, f->now),
	    STORE_OK);
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

static money_t available(struct fixture *f, int64_t client_id)
{
	money_t a = 0;
	assert_int_equal(ledger_available(f->c, client_id, CUR_POINTS, f->now, &a), STORE_OK);
	return a;
}

static void assert_refused(const struct outcome *o, enum outcome_kind kind, const char *code,
			   const char *field)
{
	assert_int_equal(o->kind, kind);
	assert_string_equal(o->code, code);
	assert_true(strncmp(o->message, field, strlen(field)) == 0);
	assert_int_equal(o->message[strlen(field)], ':');
}

static struct hold_request reserve_req(struct fixture *f, int64_t client_id, money_t amount)
{
	return (struct hold_request){.merchant_id = f->merchant_id,
				     .account_id = 1,
				     .client_id = client_id,
				     .currency = CUR_POINTS,
				     .amount_minor = amount};
}

/* More than the client has: insufficient_funds naming amount, nothing reserved. */
static void test_reserve_insufficient(void **state)
{
	struct fixture *f = *state;
	struct hold_request r = reserve_req(f, f->client_id, MINOR(101));
	struct hold h = {0};
	struct outcome o = {0};
	assert_false(hold_reserve(f->c, &r, f->now, &h, &o));
	assert_refused(&o, OUTCOME_INVALID, "insufficient_funds", "amount");
	assert_non_null(strstr(o.message, "has only 100"));
	hold_clear(&h);
	assert_int_equal(available(f, f->client_id), MINOR(100));
}

/* A client of no merchant of this id: 404 naming clientId. */
static void test_reserve_unknown_client(void **state)
{
	struct fixture *f = *state;
	struct hold_request r = reserve_req(f, f->client_id + 1000, MINOR(1));
	struct hold h = {0};
	struct outcome o = {0};
	assert_false(hold_reserve(f->c, &r, f->now, &h, &o));
	assert_refused(&o, OUTCOME_NOT_FOUND, "not_found", "clientId");
	hold_clear(&h);
}

/* A coupon that is not the client's: coupon_not_active naming couponIds[0]. */
static void test_reserve_foreign_coupon(void **state)
{
	struct fixture *f = *state;
	int64_t coupons[] = {424242};
	struct hold_request r = reserve_req(f, f->client_id, MINOR(1));
	r.coupons = coupons;
	r.n_coupons = 1;
	struct hold h = {0};
	struct outcome o = {0};
	assert_false(hold_reserve(f->c, &r, f->now, &h, &o));
	assert_refused(&o, OUTCOME_INVALID, "coupon_not_active", "couponIds[0]");
	hold_clear(&h);
}

/* Reserve, write off, write off again (the same answer), then cancel (409). */
static void test_reserve_write_off_cancel(void **state)
{
	struct fixture *f = *state;
	struct hold_request r = reserve_req(f, f->client_id, MINOR(30));
	struct hold h = {0};
	struct outcome o = {0};
	assert_true(hold_reserve(f->c, &r, f->now, &h, &o));
	assert_int_equal(o.kind, OUTCOME_OK);
	assert_int_equal(h.status, HOLD_ACTIVE);
	assert_int_equal(available(f, f->client_id), MINOR(70));
	char tx[37];
	memcpy(tx, h.transaction_id, sizeof(tx));
	hold_clear(&h);

	struct hold_end_request end = {.merchant_id = f->merchant_id, .transaction_id = tx};
	assert_true(hold_end(f->c, &end, f->now, &h, &o));
	assert_int_equal(h.status, HOLD_WRITTEN_OFF);
	hold_clear(&h);
	assert_true(hold_end(f->c, &end, f->now, &h, &o));
	assert_int_equal(h.status, HOLD_WRITTEN_OFF);
	hold_clear(&h);
	assert_int_equal(available(f, f->client_id), MINOR(70));

	end.cancel = true;
	assert_false(hold_end(f->c, &end, f->now, &h, &o));
	assert_refused(&o, OUTCOME_CONFLICT, "hold_not_active", "transactionId");
	assert_false(o.keep_writes);
	hold_clear(&h);
	assert_int_equal(available(f, f->client_id), MINOR(70));
}

/* A write-off naming another client's sale: order_not_of_client, the hold stays active. */
static void test_write_off_foreign_sale(void **state)
{
	struct fixture *f = *state;
	struct order sale = {.merchant_id = f->merchant_id,
			     .external_id = "S-1",
			     .client_id = f->other_client_id,
			     .order_date_ms = f->now,
			     .public_token = "p1",
			     .request_hash = "h",
			     .response = "{}"};
	int64_t sale_id = 0;
	assert_int_equal(STORE(f->c, order_create, &sale, &sale_id), STORE_OK);
	struct hold_request r = reserve_req(f, f->client_id, MINOR(10));
	struct hold h = {0};
	struct outcome o = {0};
	assert_true(hold_reserve(f->c, &r, f->now, &h, &o));
	char tx[37];
	memcpy(tx, h.transaction_id, sizeof(tx));
	hold_clear(&h);
	struct hold_end_request end = {
	    .merchant_id = f->merchant_id, .transaction_id = tx, .fiscal_order_id = "S-1"};
	assert_false(hold_end(f->c, &end, f->now, &h, &o));
	assert_refused(&o, OUTCOME_CONFLICT, "order_not_of_client", "fiscalOrderId");
	hold_clear(&h);
	assert_int_equal(STORE(f->c, hold_get, f->merchant_id, tx, &h), STORE_OK);
	assert_int_equal(h.status, HOLD_ACTIVE);
	hold_clear(&h);
}

/* An expired hold met by a write-off: released (a write that stands) and refused. */
static void test_end_expired_keeps_release(void **state)
{
	struct fixture *f = *state;
	struct hold_request r = reserve_req(f, f->client_id, MINOR(10));
	r.expires_ms = f->now + 1000;
	struct hold h = {0};
	struct outcome o = {0};
	assert_true(hold_reserve(f->c, &r, f->now, &h, &o));
	char tx[37];
	memcpy(tx, h.transaction_id, sizeof(tx));
	hold_clear(&h);
	struct hold_end_request end = {.merchant_id = f->merchant_id, .transaction_id = tx};
	assert_false(hold_end(f->c, &end, f->now + 2000, &h, &o));
	assert_refused(&o, OUTCOME_CONFLICT, "hold_not_active", "transactionId");
	assert_true(o.keep_writes);
	assert_int_equal(h.status, HOLD_EXPIRED);
	hold_clear(&h);
	assert_int_equal(available(f, f->client_id), MINOR(100));
}

/* A direct write-off: per currency, each rule naming its field; on success one hold spent. */
static void test_balance_write_off(void **state)
{
	struct fixture *f = *state;
	struct write_off_request r = {
	    .merchant_id = f->merchant_id, .account_id = 1, .client_id = f->client_id};
	r.amount_minor[CUR_RUBLES] = MINOR(1);
	struct write_off_result res = {0};
	struct outcome o = {0};
	assert_false(balance_write_off(f->c, &r, f->now, &res, &o));
	assert_refused(&o, OUTCOME_INVALID, "insufficient_funds", "balance[rubles]");
	r.amount_minor[CUR_RUBLES] = 0;
	r.amount_minor[CUR_POINTS] = MINOR(40);
	o = (struct outcome){0};
	assert_true(balance_write_off(f->c, &r, f->now, &res, &o));
	assert_int_equal(res.n_made, 1);
	assert_int_equal(res.made[0].status, HOLD_WRITTEN_OFF);
	assert_int_equal(res.available[CUR_POINTS], MINOR(60));
	for (size_t i = 0; i < res.n_made; i++)
		hold_clear(&res.made[i]);
	r.client_id = f->client_id + 1000;
	assert_false(balance_write_off(f->c, &r, f->now, &res, &o));
	assert_refused(&o, OUTCOME_NOT_FOUND, "not_found", "id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reserve_insufficient, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_unknown_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_foreign_coupon, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserve_write_off_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_off_foreign_sale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_end_expired_keeps_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_balance_write_off, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
