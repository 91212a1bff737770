/* Unit tests of the join page's workflow and storage (issue 15) on a real SQLite database:
 * client_enrol (service/clients.c) registers an unknown phone with the consent and birthday,
 * records the consent on a known one keeping what the POS wrote, and leaves out an email another
 * client holds; the pending enrolments are counted per phone and per address, counted wrong
 * codes, marked done and purged; every merchant gets a join code that finds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "service/clients.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store_fixture.h"

static int setup(void **state)
{
	struct store_fixture *f = calloc(1, sizeof(*f));
	store_fixture_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	store_fixture_close(*state);
	free(*state);
	return 0;
}

/* A pending enrolment of the fixture's merchant (strings borrowed: not cleared). */
static struct enrolment pending(struct store_fixture *f, char *phone, char *name, char *email,
				char *birthday)
{
	struct enrolment e = {.merchant_id = f->merchant_id,
			      .phone = phone,
			      .name = name,
			      .email = email,
			      .birthday = birthday,
			      .consent_version = "v1",
			      .addr = "127.0.0.1",
			      .created_ms = f->now,
			      .expires_ms = f->now + 600000};
	return e;
}

static void test_join_code_finds_its_merchant(void **state)
{
	struct store_fixture *f = *state;
	char code[MERCHANT_JOIN_CODE_BYTES];
	assert_int_equal(STORE(f->c, merchant_join_code, f->merchant_id, code), STORE_OK);
	assert_int_equal(strlen(code), 16);
	assert_int_equal(strspn(code, "0123456789abcdef"), 16);
	int64_t other = 0, found = 0;
	assert_int_equal(STORE(f->c, merchant_create, "Other", f->now, &other), STORE_OK);
	char other_code[MERCHANT_JOIN_CODE_BYTES];
	assert_int_equal(STORE(f->c, merchant_join_code, other, other_code), STORE_OK);
	assert_string_not_equal(code, other_code);
	assert_int_equal(STORE(f->c, merchant_by_join_code, code, &found), STORE_OK);
	assert_int_equal(found, f->merchant_id);
	assert_int_equal(STORE(f->c, merchant_by_join_code, "0000000000000000", &found),
			 STORE_NOT_FOUND);
}

static void test_a_new_phone_is_registered_with_the_consent(void **state)
{
	struct store_fixture *f = *state;
	struct enrolment e = pending(f, "79120000001", "Анна", "Anna@Example.com", "1990-02-28");
	struct client cl = {0};
	struct outcome o = {0};
	assert_true(client_enrol(f->c, &e, f->now, &cl, &o));
	assert_true(cl.id > 0);
	assert_string_equal(cl.phone, "79120000001");
	assert_string_equal(cl.name, "Анна");
	assert_string_equal(cl.email, "Anna@Example.com");
	assert_string_equal(cl.birthday, "1990-02-28");
	assert_string_equal(cl.consent_version, "v1");
	assert_int_equal(cl.consent_ms, f->now);
	assert_int_equal(strlen(cl.token), 32);
	client_clear(&cl);
}

static void test_a_known_phone_keeps_its_data(void **state)
{
	struct store_fixture *f = *state;
	int64_t id = store_fixture_client(f, "79120000002");
	struct enrolment e = pending(f, "79120000002", "Другое", NULL, "1985-04-03");
	e.consent_version = "v2";
	struct client cl = {0};
	struct outcome o = {0};
	assert_true(client_enrol(f->c, &e, f->now + 5, &cl, &o));
	assert_int_equal(cl.id, id);
	assert_string_equal(cl.birthday, "1985-04-03");
	assert_string_equal(cl.consent_version, "v2");
	assert_int_equal(cl.consent_ms, f->now + 5);
	/* The fixture's client has no name: the typed one fills it; a second join keeps it. */
	assert_string_equal(cl.name, "Другое");
	client_clear(&cl);
	e.name = "Третье";
	e.birthday = "2000-01-01";
	assert_true(client_enrol(f->c, &e, f->now + 9, &cl, &o));
	assert_string_equal(cl.name, "Другое");
	assert_string_equal(cl.birthday, "1985-04-03");
	assert_int_equal(cl.consent_ms, f->now + 9);
	client_clear(&cl);
}

static void test_an_email_of_another_client_is_left_out(void **state)
{
	struct store_fixture *f = *state;
	struct enrolment first = pending(f, "79120000003", NULL, "same@example.com", NULL);
	struct client cl = {0};
	struct outcome o = {0};
	assert_true(client_enrol(f->c, &first, f->now, &cl, &o));
	client_clear(&cl);
	struct enrolment second = pending(f, "79120000004", NULL, "same@example.com", NULL);
	assert_true(client_enrol(f->c, &second, f->now, &cl, &o));
	assert_string_equal(cl.phone, "79120000004");
	assert_null(cl.email);
	client_clear(&cl);
}

static void test_enrolments_are_counted_and_purged(void **state)
{
	struct store_fixture *f = *state;
	struct enrolment e = pending(f, "79120000005", NULL, NULL, NULL);
	memcpy(e.token, "0123456789abcdef0123456789abcdef", 33);
	memcpy(e.code_hash, "ab", 3);
	assert_int_equal(STORE(f->c, enrolment_create, &e, &e.id), STORE_OK);
	struct enrolment later = e;
	memcpy(later.token, "1123456789abcdef0123456789abcdef", 33);
	later.addr = "10.0.0.1";
	later.created_ms = f->now + 1000;
	assert_int_equal(STORE(f->c, enrolment_create, &later, &later.id), STORE_OK);
	int64_t by_phone = 0, by_addr = 0;
	assert_int_equal(STORE(f->c, enrolments_count, "79120000005", "127.0.0.1", f->now - 1,
			       &by_phone, &by_addr),
			 STORE_OK);
	assert_int_equal(by_phone, 2);
	assert_int_equal(by_addr, 1);
	assert_int_equal(
	    STORE(f->c, enrolments_count, "79120000005", "127.0.0.1", f->now, &by_phone, &by_addr),
	    STORE_OK);
	assert_int_equal(by_phone, 1);
	assert_int_equal(by_addr, 0);

	assert_int_equal(STORE(f->c, enrolment_attempt, e.id), STORE_OK);
	assert_int_equal(STORE(f->c, enrolment_done, e.id, 42), STORE_OK);
	struct enrolment got = {0};
	assert_int_equal(STORE(f->c, enrolment_get, e.token, &got), STORE_OK);
	assert_int_equal(got.attempts, 1);
	assert_int_equal(got.client_id, 42);
	assert_string_equal(got.phone, "79120000005");
	assert_string_equal(got.code_hash, "ab");
	assert_null(got.name);
	enrolment_clear(&got);

	assert_int_equal(STORE(f->c, enrolments_purge, f->now), STORE_OK);
	assert_int_equal(STORE(f->c, enrolment_get, e.token, &got), STORE_NOT_FOUND);
	assert_int_equal(STORE(f->c, enrolment_get, later.token, &got), STORE_OK);
	enrolment_clear(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_join_code_finds_its_merchant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_new_phone_is_registered_with_the_consent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_known_phone_keeps_its_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_email_of_another_client_is_left_out, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_enrolments_are_counted_and_purged, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
