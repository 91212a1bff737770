/* Unit tests of core/gwallet: the settings' checks (each refusal names its setting), and the
 * save link's JWT: its header, claims and payload (the LoyaltyClass and LoyaltyObject fields
 * Google reads), stable ids that are not the token, and a signature made by the file's key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gwallet.h"

#define ISSUER "3388000000022212345"
#define TOKEN "5ff3b4cf0a1adb57a5d5ab6eb36896ae"

static char account_path[] = "/tmp/kopilka-gwallet-XXXXXX";

/* A service account key file with a new RSA key, as Google writes one. */
static int write_account(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	char *pem;
	long len = BIO_get_mem_data(bio, &pem);
	json_t *doc = json_pack("{s:s, s:s, s:s#, s:s}", "type", "service_account",
				"private_key_id", "kid-1", "private_key", pem, (size_t)len,
				"client_email", "w@p.iam.gserviceaccount.com");
	int fd = mkstemp(account_path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_dump_file(doc, account_path, 0), 0);
	json_decref(doc);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return 0;
}

static int remove_account(void **state)
{
	(void)state;
	unlink(account_path);
	return 0;
}

static struct config settings(const char *issuer, const char *path, const char *origins)
{
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.gwallet_issuer_id = (char *)issuer;
	cfg.gwallet_service_account = (char *)path;
	cfg.gwallet_origins = (char *)origins;
	return cfg;
}

/* gwallet_load refuses cfg with a message holding `said`. */
static void expect_refused(const struct config *cfg, const char *said)
{
	struct gwallet *g = (struct gwallet *)1;
	char err[1024] = "";
	assert_false(gwallet_load(cfg, &g, err, sizeof(err)));
	assert_null(g);
	if (!strstr(err, said))
		fail_msg("\"%s\" does not say \"%s\"", err, said);
}

static void test_settings_checked(void **state)
{
	(void)state;
	struct gwallet *g = (struct gwallet *)1;
	char err[1024];
	struct config none = settings("", "", "");
	assert_true(gwallet_load(&none, &g, err, sizeof(err)));
	assert_null(g);
	struct config c = settings(ISSUER, "", "");
	expect_refused(&c, "--gwallet-service-account is required");
	c = settings("", account_path, "");
	expect_refused(&c, "--gwallet-issuer-id is required");
	c = settings("12a", account_path, "");
	expect_refused(&c, "--gwallet-issuer-id must be");
	c = settings(ISSUER, "/nonexistent/key.json", "");
	expect_refused(&c, "--gwallet-service-account: cannot read /nonexistent/key.json");
	c = settings(ISSUER, account_path, "https://a.example,ftp://b.example");
	expect_refused(&c, "--gwallet-origins");
	c = settings(ISSUER, account_path, "https://a.example/");
	expect_refused(&c, "--gwallet-origins");
	c = settings(ISSUER, account_path, " https://a.example , ,http://b.example:8080");
	assert_true(gwallet_load(&c, &g, err, sizeof(err)));
	assert_non_null(g);
	gwallet_free(g);
}

/* The JSON of a base64url part. */
static json_t *part_json(const char *part, size_t len)
{
	char text[8192];
	size_t n = 0;
	assert_int_equal(sodium_base642bin((unsigned char *)text, sizeof(text) - 1, part, len, NULL,
					   &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			 0);
	text[n] = '\0';
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static const char *str_at(json_t *j, const char *path)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", path);
	for (char *save = NULL, *key = strtok_r(copy, ".", &save); key;
	     key = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, (size_t)atoi(key))
				     : json_object_get(j, key);
	return json_string_value(j);
}

static void test_save_url(void **state)
{
	(void)state;
	struct config c = settings(ISSUER, account_path, "https://kopilka.example");
	struct gwallet *g = NULL;
	char err[1024];
	assert_true(gwallet_load(&c, &g, err, sizeof(err)));
	struct gwallet_card card = {.merchant_id = 7,
				    .client_id = 42,
				    .token = TOKEN,
				    .issuer_name = "Кофейня",
				    .program_name = "Кофейня",
				    .logo_url = "https://kopilka.example/ext/api/v1/media/a.png",
				    .color = "#1e7f4f",
				    .account_name = "Анна",
				    .points = "94.5"};
	char *url = gwallet_save_url(g, &card, 1767605400);
	assert_non_null(url);
	const char *prefix = "https://pay.google.com/gp/v/save/";
	assert_memory_equal(url, prefix, strlen(prefix));
	const char *jwt = url + strlen(prefix);
	const char *dot1 = strchr(jwt, '.'), *dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	json_t *header = part_json(jwt, (size_t)(dot1 - jwt));
	json_t *claims = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	assert_string_equal(str_at(header, "alg"), "RS256");
	assert_string_equal(str_at(header, "typ"), "JWT");
	assert_string_equal(str_at(header, "kid"), "kid-1");
	assert_string_equal(str_at(claims, "iss"), "w@p.iam.gserviceaccount.com");
	assert_string_equal(str_at(claims, "aud"), "google");
	assert_string_equal(str_at(claims, "typ"), "savetowallet");
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")), 1767605400);
	assert_string_equal(str_at(claims, "origins.0"), "https://kopilka.example");
	assert_string_equal(str_at(claims, "payload.loyaltyClasses.0.id"), ISSUER ".kopilka-m7");
	assert_string_equal(str_at(claims, "payload.loyaltyClasses.0.issuerName"), "Кофейня");
	assert_string_equal(str_at(claims, "payload.loyaltyClasses.0.programLogo.sourceUri.uri"),
			    "https://kopilka.example/ext/api/v1/media/a.png");
	assert_string_equal(str_at(claims, "payload.loyaltyClasses.0.hexBackgroundColor"),
			    "#1e7f4f");
	assert_string_equal(str_at(claims, "payload.loyaltyClasses.0.reviewStatus"),
			    "UNDER_REVIEW");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.id"),
			    ISSUER ".kopilka-m7-c42");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.classId"),
			    ISSUER ".kopilka-m7");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.state"), "ACTIVE");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.accountId"), "42");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.accountName"), "Анна");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.loyaltyPoints.balance.string"),
			    "94.5");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.barcode.type"), "QR_CODE");
	assert_string_equal(str_at(claims, "payload.loyaltyObjects.0.barcode.value"), TOKEN);
	/* Without a logo or a name the class and the object leave those fields out. */
	card.logo_url = NULL;
	card.account_name = NULL;
	char *bare = gwallet_save_url(g, &card, 1767605400);
	const char *b1 = strchr(bare + strlen(prefix), '.'), *b2 = strchr(b1 + 1, '.');
	json_t *bare_claims = part_json(b1 + 1, (size_t)(b2 - b1 - 1));
	json_t *cls = json_array_get(
	    json_object_get(json_object_get(bare_claims, "payload"), "loyaltyClasses"), 0);
	json_t *obj = json_array_get(
	    json_object_get(json_object_get(bare_claims, "payload"), "loyaltyObjects"), 0);
	assert_null(json_object_get(cls, "programLogo"));
	assert_null(json_object_get(obj, "accountName"));
	assert_string_equal(str_at(obj, "id"), ISSUER ".kopilka-m7-c42");
	json_decref(bare_claims);
	json_decref(header);
	json_decref(claims);
	free(bare);
	free(url);
	gwallet_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settings_checked),
	    cmocka_unit_test(test_save_url),
	};
	return cmocka_run_group_tests(tests, write_account, remove_account);
}
