/* Unit tests of the webhook rules (domain/webhook.c) and the signature (service/webhooks.c):
 * the signature checked against values Python's hmac computed, so a receiver's usual verifier
 * agrees with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "domain/webhook.h"
#include "service/webhooks.h"

static void signature_matches_hmac_sha256(void **state)
{
	(void)state;
	char hex[65];
	const char *body = "{\"id\":\"evt_1\"}";
	webhook_signature("whsec_test_secret_0123", 1700000000, body, strlen(body), hex);
	assert_string_equal(hex,
			    "73f168c8f95cae26bf3b3104a1307c3040d4d7a17c3c699c8af06025c9c6bd14");
	/* A key longer than the hash's block (64 bytes) is hashed first, as HMAC says. */
	char key[101];
	memset(key, 'k', 100);
	key[100] = '\0';
	webhook_signature(key, 1, "", 0, hex);
	assert_string_equal(hex,
			    "f380fa061ddac7555fce09c4f9d5ba3c4d7eb9115eaa097dd2c14988a18ae793");
}

static bool refused4(const char *ip)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return webhook_addr_refused((struct sockaddr *)&a);
}

static bool refused6(const char *ip)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return webhook_addr_refused((struct sockaddr *)&a);
}

static void private_addresses_are_refused(void **state)
{
	(void)state;
	const char *refused[] = {"127.0.0.1",	"10.1.2.3",	   "172.16.0.1", "172.31.255.255",
				 "192.168.1.1", "169.254.169.254", "0.0.0.0",	 "100.64.0.1",
				 "224.0.0.1",	"255.255.255.255"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_true(refused4(refused[i]));
	assert_false(refused4("8.8.8.8"));
	assert_false(refused4("172.32.0.1"));
	assert_false(refused4("100.128.0.1"));
	assert_true(refused6("::1"));
	assert_true(refused6("::"));
	assert_true(refused6("fe80::1"));
	assert_true(refused6("fd00::1"));
	assert_true(refused6("::ffff:127.0.0.1"));
	assert_false(refused6("2001:4860:4860::8888"));
}

static void urls(void **state)
{
	(void)state;
	const char *rule;
	assert_true(webhook_url_ok("https://pos.example.com/hook?x=1", &rule));
	assert_true(webhook_url_ok("http://10.0.0.1:8080/", &rule));
	assert_false(webhook_url_ok("ftp://x/", &rule));
	assert_false(webhook_url_ok("https:///x", &rule));
	assert_false(webhook_url_ok("https://u:p@x/", &rule));
	assert_false(webhook_url_ok("https://x/#f", &rule));
	assert_false(webhook_url_ok("https://x/a b", &rule));
}

static void backoff_doubles_to_its_cap(void **state)
{
	(void)state;
	assert_int_equal(webhook_backoff_ms(1, 1000, 500), 1000);
	assert_int_equal(webhook_backoff_ms(2, 1000, 500), 2000);
	assert_int_equal(webhook_backoff_ms(3, 1000, 0), 2000);
	assert_int_equal(webhook_backoff_ms(50, 1000, 999),
			 WEBHOOK_BACKOFF_MAX_MS / 2 + WEBHOOK_BACKOFF_MAX_MS * 999 / 1000);
	assert_true(event_type_parse("hold.expired") == EVENT_HOLD_EXPIRED);
	assert_int_equal(event_type_parse("nope"), -1);
	assert_string_equal(event_type_name(EVENT_COUPON_REDEEMED), "coupon.redeemed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(signature_matches_hmac_sha256),
	    cmocka_unit_test(private_addresses_are_refused),
	    cmocka_unit_test(urls),
	    cmocka_unit_test(backoff_doubles_to_its_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
