/* RS256 JSON Web Tokens (see jwt.h). */
#include "core/jwt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <sodium.h>

char *jwt_base64url(const void *data, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xmalloc(cap);
	sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

EVP_PKEY *jwt_rsa_key_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return NULL;
	/* No passphrase callback: an encrypted key is refused rather than prompted for. */
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	if (key && EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

char *jwt_sign_rs256(EVP_PKEY *key, const char *header_json, const char *claims_json)
{
	char *header = jwt_base64url(header_json, strlen(header_json));
	char *claims = jwt_base64url(claims_json, strlen(claims_json));
	struct buf token;
	buf_init(&token);
	buf_printf(&token, "%s.%s", header, claims);
	free(header);
	free(claims);
	char *result = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	/* RSA keys default to PKCS #1 v1.5 padding: RS256 (RFC 7518 3.3). */
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)token.data, token.len) != 1)
		goto cleanup;
	sig = xmalloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)token.data, token.len) != 1)
		goto cleanup;
	char *sig64 = jwt_base64url(sig, sig_len);
	buf_printf(&token, ".%s", sig64);
	free(sig64);
	result = buf_steal(&token, NULL);
cleanup:
	EVP_MD_CTX_free(md);
	free(sig);
	buf_free(&token);
	return result;
}
