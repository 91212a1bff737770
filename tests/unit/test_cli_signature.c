/* The CLI's webhook signature check (cli/signature.c): Stripe's header shape, a known HMAC
 * vector, the tolerance on t, several v1 values, and malformed headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "signature.h"

static const char body[] = "{\"id\":\"evt_1\",\"type\":\"order.created\"}";
static const char secret[] = "whsec_0123456789abcdef";

static enum signature_result verify(const char *header, int64_t now, int64_t tolerance)
{
	return signature_verify(header, body, strlen(body), secret, now, tolerance, NULL);
}

/* The HMAC of "1.x" with the key "key", as Python's hmac.new(b"key", b"1.x", "sha256") makes
 * it: the header is what any standard verifier computes. */
static void test_known_vector(void **state)
{
	char header[128];
	signature_make("x", 1, "key", 1, header, sizeof(header));
	assert_string_equal(
	    header, "t=1,v1=fc4913c41a7bf793267e2a384f3261c9436ec2cd097bd745e7b0d99113f510ec");
}

static void test_round_trip_and_tolerance(void **state)
{
	char header[128];
	signature_make(body, strlen(body), secret, 1000000, header, sizeof(header));
	int64_t t = 0;
	assert_int_equal(signature_verify(header, body, strlen(body), secret, 1000000, 300, &t),
			 SIGNATURE_OK);
	assert_int_equal(t, 1000000);
	assert_int_equal(verify(header, 1000300, 300), SIGNATURE_OK);
	assert_int_equal(verify(header, 1000301, 300), SIGNATURE_EXPIRED);
	assert_int_equal(verify(header, 999699, 300), SIGNATURE_EXPIRED);
	/* 0: any t. */
	assert_int_equal(verify(header, 9000000, 0), SIGNATURE_OK);
}

static void test_mismatch(void **state)
{
	char header[128];
	signature_make(body, strlen(body), "another secret!!", 1000, header, sizeof(header));
	assert_int_equal(verify(header, 1000, 300), SIGNATURE_MISMATCH);
	signature_make(body, strlen(body), secret, 1000, header, sizeof(header));
	/* The body changed by one byte. */
	assert_int_equal(signature_verify(header, body, strlen(body) - 1, secret, 1000, 300, NULL),
			 SIGNATURE_MISMATCH);
	/* t changed: the MAC covers it. */
	header[2] = '2';
	assert_int_equal(verify(header, 2000, 0), SIGNATURE_MISMATCH);
	/* An expired t with a wrong MAC is a mismatch: nothing said about t. */
	assert_int_equal(verify(header, 9000000, 300), SIGNATURE_MISMATCH);
}

static void test_several_v1_and_other_schemes(void **state)
{
	char good[128], header[512];
	signature_make(body, strlen(body), secret, 1000, good, sizeof(good));
	const char *v1 = strstr(good, "v1=") + 3;
	snprintf(header, sizeof(header), "t=1000,v0=abc,v1=%064d,v1=zz,v1=%s", 0, v1);
	assert_int_equal(verify(header, 1000, 300), SIGNATURE_OK);
	snprintf(header, sizeof(header), "t=1000, v1=%s", v1);
	assert_int_equal(verify(header, 1000, 300), SIGNATURE_OK);
}

static void test_malformed(void **state)
{
	assert_int_equal(verify(NULL, 1000, 300), SIGNATURE_MISSING);
	assert_int_equal(verify("", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("t=1000", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("v1=00", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("t=abc,v1=00", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("t=-5,v1=00", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("garbage", 1000, 300), SIGNATURE_MALFORMED);
	assert_int_equal(verify("t=1000,v1=00", 1000, 300), SIGNATURE_MISMATCH);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vector),
	    cmocka_unit_test(test_round_trip_and_tolerance),
	    cmocka_unit_test(test_mismatch),
	    cmocka_unit_test(test_several_v1_and_other_schemes),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
