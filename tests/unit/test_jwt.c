/* Unit tests of core/jwt: base64url without padding against RFC 4648's vectors, the PEM key
 * reader (RSA taken; EC, garbage and an empty text refused), and RS256 signatures that verify
 * with the key's public half, are deterministic (PKCS #1 v1.5) and fail once a claim changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"

static void expect_b64url(const char *data, size_t len, const char *want)
{
	char *got = jwt_base64url(data, len);
	assert_string_equal(got, want);
	free(got);
}

static void test_base64url_vectors(void **state)
{
	(void)state;
	/* RFC 4648 section 10, without the '=' padding. */
	expect_b64url("", 0, "");
	expect_b64url("f", 1, "Zg");
	expect_b64url("fo", 2, "Zm8");
	expect_b64url("foo", 3, "Zm9v");
	expect_b64url("foob", 4, "Zm9vYg");
	expect_b64url("fooba", 5, "Zm9vYmE");
	expect_b64url("foobar", 6, "Zm9vYmFy");
	/* The URL alphabet: base64's "+/8=" is "-_8". */
	expect_b64url("\xfb\xff", 2, "-_8");
	/* RFC 7515 A.1's header, byte for byte (CRLF and spaces kept). */
	const char *header = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
	expect_b64url(header, strlen(header), "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9");
}

/* key as PEM (PKCS #8), heap. */
static char *pem_of(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *pem = malloc((size_t)len + 1);
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
	BIO_free(bio);
	return pem;
}

static void test_key_reader(void **state)
{
	(void)state;
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_non_null(rsa);
	assert_non_null(ec);
	char *rsa_pem = pem_of(rsa), *ec_pem = pem_of(ec);
	assert_non_null(strstr(rsa_pem, "-----BEGIN PRIVATE KEY-----"));
	EVP_PKEY *read = jwt_rsa_key_from_pem(rsa_pem);
	assert_non_null(read);
	assert_int_equal(EVP_PKEY_eq(read, rsa), 1);
	EVP_PKEY_free(read);
	assert_null(jwt_rsa_key_from_pem(ec_pem));
	assert_null(jwt_rsa_key_from_pem(""));
	assert_null(
	    jwt_rsa_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
	/* A public key is no signing key. */
	BIO *bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PUBKEY(bio, rsa), 1);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *pub = strndup(data, (size_t)len);
	BIO_free(bio);
	assert_null(jwt_rsa_key_from_pem(pub));
	free(pub);
	free(rsa_pem);
	free(ec_pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

/* Whether sig (base64url) is key's RS256 signature of signed_part. */
static bool rs256_verifies(EVP_PKEY *key, const char *signed_part, size_t signed_len,
			   const char *sig64)
{
	unsigned char sig[1024];
	size_t sig_len = 0;
	if (sodium_base642bin(sig, sizeof(sig), sig64, strlen(sig64), NULL, &sig_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok =
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)signed_part, signed_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

static void test_sign_rs256(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	assert_non_null(key);
	const char *header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}";
	const char *claims = "{\"iss\":\"a@b.iam.gserviceaccount.com\",\"aud\":\"google\"}";
	char *jwt = jwt_sign_rs256(key, header, claims);
	assert_non_null(jwt);
	char *h64 = jwt_base64url(header, strlen(header));
	char *c64 = jwt_base64url(claims, strlen(claims));
	/* header.claims.signature, the first two the texts as given. */
	size_t h_len = strlen(h64), c_len = strlen(c64);
	assert_memory_equal(jwt, h64, h_len);
	assert_int_equal(jwt[h_len], '.');
	assert_memory_equal(jwt + h_len + 1, c64, c_len);
	assert_int_equal(jwt[h_len + 1 + c_len], '.');
	const char *sig = jwt + h_len + 1 + c_len + 1;
	assert_null(strchr(sig, '.'));
	assert_null(strchr(jwt, '='));
	assert_int_equal(strlen(sig), 342); /* 256 bytes, base64url without padding */
	assert_true(rs256_verifies(key, jwt, h_len + 1 + c_len, sig));
	/* PKCS #1 v1.5 is deterministic: the same texts sign the same. */
	char *again = jwt_sign_rs256(key, header, claims);
	assert_string_equal(again, jwt);
	/* Another claim does not verify with this signature. */
	const char *forged = "{\"iss\":\"a@b.iam.gserviceaccount.com\",\"aud\":\"googlf\"}";
	char *f64 = jwt_base64url(forged, strlen(forged));
	char signed_forged[512];
	snprintf(signed_forged, sizeof(signed_forged), "%s.%s", h64, f64);
	assert_false(rs256_verifies(key, signed_forged, strlen(signed_forged), sig));
	/* Another key's signature does not verify either. */
	EVP_PKEY *other = EVP_RSA_gen(2048);
	assert_false(rs256_verifies(other, jwt, h_len + 1 + c_len, sig));
	free(f64);
	free(again);
	free(h64);
	free(c64);
	free(jwt);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64url_vectors),
	    cmocka_unit_test(test_key_reader),
	    cmocka_unit_test(test_sign_rs256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
