/* Unit tests of the personal-data erasure of service/clients.c (152-FZ) on a real SQLite
 * database: what it clears, what it keeps (the ledger, the check), its idempotent repeat, the
 * refusals that follow it, and the scrubber of stored JSON (service/views.c). The black-box
 * suite (tests/api/test_personal_data.py) runs the same through the API on both engines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "service/clients.h"
#include "service/ledger.h"
#include "service/views.h"
#include "store/check.h"
#include "store/clients.h"
#include "store/store.h"
#include "store_fixture.h"

#define MINOR(units) ((money_t)(units)*100)

struct fixture {
	struct store_fixture db;
	struct store_conn *c;
	int64_t merchant_id, client_id;
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

static void count_problem(void *ctx, const char *what)
{
	(void)what;
	(*(int *)ctx)++;
}

static money_t available(struct fixture *f)
{
	money_t a = 0;
	assert_int_equal(ledger_available(f->c, f->client_id, CUR_POINTS, f->now, &a), STORE_OK);
	return a;
}

/* The person's fields go, the token becomes one no lookup takes, the points stay, and the
 * database passes its check. */
static void test_erase_clears_and_keeps(void **state)
{
	struct fixture *f = *state;
	struct client cl = {0}, found = {0};
	struct outcome o = {0};
	bool already = true;
	assert_true(client_erase_personal(f->c, f->merchant_id, f->client_id, f->now + 1, &cl,
					  &already, &o));
	assert_false(already);
	assert_int_equal(cl.id, f->client_id);
	assert_int_equal(cl.erased_ms, f->now + 1);
	assert_null(cl.phone);
	assert_null(cl.email);
	assert_null(cl.name);
	assert_string_equal(cl.token, "erased-1");
	assert_int_equal(STORE(f->c, client_find_phone, f->merchant_id, "79990000001", &found),
			 STORE_NOT_FOUND);
	assert_int_equal(STORE(f->c, client_by_token, "t79990000001", &found), STORE_NOT_FOUND);
	assert_int_equal(available(f), MINOR(100));
	int problems = 0;
	int64_t n = 0;
	assert_int_equal(STORE(f->c, check, f->now + 2, count_problem, &problems, &n), STORE_OK);
	assert_int_equal(n, 0);
	client_clear(&cl);

	/* A repeat changes nothing and says so. */
	o = (struct outcome){0};
	assert_true(client_erase_personal(f->c, f->merchant_id, f->client_id, f->now + 5, &cl,
					  &already, &o));
	assert_true(already);
	assert_int_equal(cl.erased_ms, f->now + 1);
	client_clear(&cl);

	/* The phone registers anew. */
	assert_true(store_fixture_client(&f->db, "79990000001") != f->client_id);
}

static void test_erase_unknown_client(void **state)
{
	struct fixture *f = *state;
	struct client cl = {0};
	struct outcome o = {0};
	bool already = false;
	assert_false(client_erase_personal(f->c, f->merchant_id, f->client_id + 1000, f->now, &cl,
					   &already, &o));
	assert_int_equal(o.kind, OUTCOME_NOT_FOUND);
	assert_string_equal(o.code, "not_found");
	assert_true(strncmp(o.message, "id:", 3) == 0);
	client_clear(&cl);
}

/* An erased client takes no adjustment: 409 client_erased naming id, nothing written. */
static void test_erased_client_refused(void **state)
{
	struct fixture *f = *state;
	struct client cl = {0};
	struct outcome o = {0};
	bool already = false;
	assert_true(
	    client_erase_personal(f->c, f->merchant_id, f->client_id, f->now, &cl, &already, &o));
	client_clear(&cl);
	money_t after[CURRENCY_COUNT] = {0};
	o = (struct outcome){0};
	assert_false(balance_adjust(f->c, f->merchant_id, f->client_id, CUR_POINTS, MINOR(5), "x",
				    f->now, after, &o));
	assert_int_equal(o.kind, OUTCOME_CONFLICT);
	assert_string_equal(o.code, "client_erased");
	assert_true(strncmp(o.message, "id:", 3) == 0);
	assert_int_equal(available(f), MINOR(100));
}

/* The scrubber nulls the customer's fields at any depth, leaves the employee and the items
 * alone, and refuses what is not JSON. */
static void test_scrub(void **state)
{
	(void)state;
	char *out = view_scrub_personal_text(
	    "{\"id\":7,\"customerPhone\":\"79990000001\",\"customer\":{\"phone\":\"7999\","
	    "\"name\":\"Anna\",\"token\":\"abc\",\"id\":3},\"employee\":{\"phone\":\"7000\"},"
	    "\"items\":[{\"name\":\"Coffee\"}],\"coupon\":{\"shareToken\":\"s\",\"title\":\"T\"}}");
	assert_non_null(out);
	assert_string_equal(
	    out,
	    "{\"id\":7,\"customerPhone\":null,\"customer\":{\"phone\":null,\"name\":null,"
	    "\"token\":null,\"id\":3},\"employee\":{\"phone\":\"7000\"},"
	    "\"items\":[{\"name\":\"Coffee\"}],\"coupon\":{\"shareToken\":null,\"title\":\"T\"}}");
	free(out);
	assert_null(view_scrub_personal_text("not json"));
	assert_null(view_scrub_personal_text(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_erase_clears_and_keeps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_erase_unknown_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_erased_client_refused, setup, teardown),
	    cmocka_unit_test(test_scrub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
