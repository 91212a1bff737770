/* JSON Web Tokens signed RS256 (RFC 7515/7519) with OpenSSL's libcrypto: what a "Save to Google
 * Wallet" link carries (core/gwallet.c). Only signing: kopilka makes tokens, it never takes
 * one. base64url here is RFC 4648 section 5 without padding, as a JWT's three parts are. */
#ifndef KOPILKA_CORE_JWT_H
#define KOPILKA_CORE_JWT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "core/util.h"

/* data[0..len) as base64url without '=' padding, NUL-terminated, heap: the caller frees. */
char *jwt_base64url(const void *data, size_t len);

/* The RSA private key of a PEM text ("-----BEGIN PRIVATE KEY-----", PKCS #8, as a Google
 * service account's key file holds it, or "BEGIN RSA PRIVATE KEY"). NULL when the text is no
 * PEM private key or the key is not RSA. Free with EVP_PKEY_free. */
EVP_PKEY *jwt_rsa_key_from_pem(const char *pem) MUST_CHECK;

/* The compact JWT base64url(header).base64url(claims).base64url(signature), the signature
 * RSASSA-PKCS1-v1_5 with SHA-256 (RS256) over the first two parts by key. header_json and
 * claims_json are the exact JSON texts encoded. Heap: the caller frees; NULL when signing
 * failed. */
char *jwt_sign_rs256(EVP_PKEY *key, const char *header_json, const char *claims_json) MUST_CHECK;

#endif
