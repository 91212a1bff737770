/* Unit tests of domain/lk: when a cabinet session is alive (idle timeout, lifetime, its
 * account's password, role and removal), when its last-seen time is written, which cookie of a
 * Cookie header is the session's, and which proxies' X-Forwarded-Proto is believed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/lk.h"

#define MIN (60 * 1000)

static struct lk_session session(void)
{
	struct lk_session s;
	memset(&s, 0, sizeof(s));
	s.account_id = 7;
	s.merchant_id = 3;
	s.cred_version = 2;
	s.role = ROLE_MANAGER;
	s.created_ms = 1000 * MIN;
	s.seen_ms = 1000 * MIN;
	return s;
}

static struct account account(void)
{
	struct account a;
	memset(&a, 0, sizeof(a));
	a.id = 7;
	a.merchant_id = 3;
	a.kind = ACCOUNT_EMPLOYEE;
	a.role = ROLE_MANAGER;
	a.cred_version = 2;
	return a;
}

static void test_state_times(void **state)
{
	(void)state;
	struct lk_session s = session();
	struct account a = account();
	int64_t t0 = s.created_ms, idle = 30 * MIN, life = 720 * MIN;
	assert_int_equal(lk_session_state(&s, &a, t0, idle, life), LK_LIVE);
	assert_int_equal(lk_session_state(&s, &a, t0 + idle - 1, idle, life), LK_LIVE);
	assert_int_equal(lk_session_state(&s, &a, t0 + idle, idle, life), LK_IDLE);
	/* seen lately, but signed in longer ago than the lifetime */
	s.seen_ms = t0 + life - 1;
	assert_int_equal(lk_session_state(&s, &a, t0 + life - 1, idle, life), LK_LIVE);
	assert_int_equal(lk_session_state(&s, &a, t0 + life, idle, life), LK_TOO_OLD);
}

static void test_state_account_changes(void **state)
{
	(void)state;
	struct lk_session s = session();
	struct account a = account();
	int64_t now = s.created_ms + 1, idle = 30 * MIN, life = 720 * MIN;
	assert_int_equal(lk_session_state(&s, NULL, now, idle, life), LK_REVOKED);
	a.cred_version = 3; /* a new password */
	assert_int_equal(lk_session_state(&s, &a, now, idle, life), LK_REVOKED);
	a = account();
	a.role = ROLE_CASHIER;
	assert_int_equal(lk_session_state(&s, &a, now, idle, life), LK_REVOKED);
	a = account();
	a.merchant_id = 4;
	assert_int_equal(lk_session_state(&s, &a, now, idle, life), LK_REVOKED);
	/* a change of neither (names, email) keeps it; revocation wins over the clock */
	a = account();
	assert_int_equal(lk_session_state(&s, &a, now, idle, life), LK_LIVE);
	assert_int_equal(lk_session_state(&s, NULL, now + life, idle, life), LK_REVOKED);
	/* an owner account acts as owner whatever its row's role says */
	s.role = ROLE_OWNER;
	a.kind = ACCOUNT_MERCHANT;
	a.role = ROLE_CASHIER;
	assert_int_equal(lk_effective_role(&a), ROLE_OWNER);
	assert_int_equal(lk_session_state(&s, &a, now, idle, life), LK_LIVE);
}

static void test_touch_due(void **state)
{
	(void)state;
	struct lk_session s = session();
	int64_t t0 = s.seen_ms;
	/* at most once a minute */
	assert_false(lk_touch_due(&s, t0, 30 * MIN));
	assert_false(lk_touch_due(&s, t0 + MIN - 1, 30 * MIN));
	assert_true(lk_touch_due(&s, t0 + MIN, 30 * MIN));
	/* a short idle timeout: every half of it */
	assert_false(lk_touch_due(&s, t0 + 999, 2000));
	assert_true(lk_touch_due(&s, t0 + 1000, 2000));
}

static void expect_cookie(const char *header, const char *want)
{
	char out[64];
	bool found = lk_cookie_value(header, LK_COOKIE, out, sizeof(out));
	if (!want) {
		assert_false(found);
		return;
	}
	assert_true(found);
	assert_string_equal(out, want);
}

static void test_cookie_value(void **state)
{
	(void)state;
	expect_cookie("kopilka_lk=abc", "abc");
	expect_cookie("a=1; kopilka_lk=abc; b=2", "abc");
	expect_cookie("a=1;kopilka_lk=abc ", "abc");
	expect_cookie("kopilka_lk=first; kopilka_lk=second", "first");
	expect_cookie("xkopilka_lk=abc", NULL);
	expect_cookie("kopilka_lkx=abc", NULL);
	expect_cookie("kopilka_lk=", NULL);
	expect_cookie("kopilka_lk", NULL);
	expect_cookie("", NULL);
	expect_cookie(NULL, NULL);
	assert_true(lk_cookie_present("a=1; kopilka_lk=", LK_COOKIE));
	assert_true(lk_cookie_present("kopilka_lk=abc", LK_COOKIE));
	assert_false(lk_cookie_present("xkopilka_lk=abc; kopilka_lkx=1", LK_COOKIE));
	assert_false(lk_cookie_present(NULL, LK_COOKIE));
	char small[4];
	assert_false(lk_cookie_value("kopilka_lk=abcd", LK_COOKIE, small, sizeof(small)));
	assert_true(lk_cookie_value("kopilka_lk=abc", LK_COOKIE, small, sizeof(small)));
}

static void test_token_shape(void **state)
{
	(void)state;
	assert_true(lk_token_shape("q3Tn0CwV9m1bX8yR2pLk4sZ7eH6uJ5aD0fG1hI2jK-_"));
	assert_false(lk_token_shape("q3Tn0CwV9m1bX8yR2pLk4sZ7eH6uJ5aD0fG1hI2jK-"));   /* 42 */
	assert_false(lk_token_shape("q3Tn0CwV9m1bX8yR2pLk4sZ7eH6uJ5aD0fG1hI2jK-_a")); /* 44 */
	assert_false(lk_token_shape("q3Tn0CwV9m1bX8yR2pLk4sZ7eH6uJ5aD0fG1hI2jK+/"));
	assert_false(lk_token_shape(""));
}

static void test_proxies(void **state)
{
	(void)state;
	const char *list = " 10.0.0.1, 127.0.0.1 ,::1";
	const char *bad = NULL;
	assert_true(lk_proxy_list_valid(list, &bad));
	assert_null(bad);
	assert_true(lk_proxy_list_valid("", NULL));
	assert_true(lk_proxy_trusted(list, "127.0.0.1"));
	assert_true(lk_proxy_trusted(list, "10.0.0.1"));
	assert_true(lk_proxy_trusted(list, "0:0::1")); /* compared as addresses */
	assert_false(lk_proxy_trusted(list, "10.0.0.2"));
	assert_false(lk_proxy_trusted(list, "127.0.0.10"));
	assert_false(lk_proxy_trusted(list, "unknown"));
	assert_false(lk_proxy_trusted("", "127.0.0.1"));
	assert_false(lk_proxy_trusted(NULL, "127.0.0.1"));
	assert_false(lk_proxy_list_valid("10.0.0.1,proxy.local", &bad));
	assert_string_equal(bad, "proxy.local");
	assert_false(lk_proxy_list_valid("10.0.0.1,,10.0.0.2", NULL));
	assert_false(lk_proxy_list_valid("10.0.0.0/8", NULL));
	assert_true(lk_request_secure(list, "127.0.0.1", "https"));
	assert_true(lk_request_secure(list, "127.0.0.1", "HTTPS"));
	assert_false(lk_request_secure(list, "127.0.0.1", "http"));
	assert_false(lk_request_secure(list, "127.0.0.1", NULL));
	assert_false(lk_request_secure(list, "192.168.1.1", "https"));
	assert_false(lk_request_secure("", "127.0.0.1", "https"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_times), cmocka_unit_test(test_state_account_changes),
	    cmocka_unit_test(test_touch_due),	cmocka_unit_test(test_cookie_value),
	    cmocka_unit_test(test_token_shape), cmocka_unit_test(test_proxies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
