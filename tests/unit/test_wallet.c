/* Unit tests of service/wallet's authenticationToken (the PassKit web service's credential):
 * 64 lowercase hex digits, the same for one client token and another for another, and the
 * check refuses anything but the token itself (one digit off, shorter, longer, none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "service/wallet.h"

static void test_auth_token(void **state)
{
	(void)state;
	const char *client = "5ff3a1c2d4e5f60718293a4b5c6d7e8f";
	char a[WALLET_AUTH_TOKEN_MAX], b[WALLET_AUTH_TOKEN_MAX], other[WALLET_AUTH_TOKEN_MAX];
	wallet_auth_token(client, a);
	wallet_auth_token(client, b);
	wallet_auth_token("00000000000000000000000000000000", other);
	assert_int_equal(strlen(a), 64);
	assert_string_equal(a, b);
	assert_string_not_equal(a, other);
	assert_null(strstr(a, client)); /* derived, not the token itself */
	for (size_t i = 0; i < 64; i++)
		assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
	assert_true(wallet_auth_ok(client, a));
	assert_false(wallet_auth_ok(client, other));
	assert_false(wallet_auth_ok(client, NULL));
	assert_false(wallet_auth_ok(client, ""));
	char changed[WALLET_AUTH_TOKEN_MAX + 1];
	strcpy(changed, a);
	changed[63] = changed[63] == '0' ? '1' : '0';
	assert_false(wallet_auth_ok(client, changed));
	strcpy(changed, a);
	changed[63] = '\0';
	assert_false(wallet_auth_ok(client, changed));
	strcpy(changed, a);
	strcat(changed, "0");
	assert_false(wallet_auth_ok(client, changed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auth_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
