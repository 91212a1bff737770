/* Basic authentication of API calls (API.md sections 1, 5 and 7): Argon2id verification with a
 * bounded number running at once, a cache of verified credentials so that a repeated request
 * does no Argon2 work, and lockout of a login or a client address after repeated failures. */
#ifndef KOPILKA_API_AUTH_H
#define KOPILKA_API_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "api/call.h"
#include "core/config.h"

enum auth_result {
	AUTH_OK,
	AUTH_MISSING, /* no or malformed Authorization header: 401 */
	AUTH_FAILED,  /* unknown login or wrong password: 401 */
	AUTH_LOCKED,  /* too many failures: 429, *retry_after_s set */
	AUTH_ERROR,   /* storage failed: 5xx */
};

/* Creates the authenticator with the lockout and cache settings of cfg. */
struct auth *auth_create(const struct config *cfg);
void auth_destroy(struct auth *a);

/* Authenticates the Authorization header value (may be NULL) from address addr. On AUTH_OK
 * fills who. Uses db only on a cache miss. */
enum auth_result auth_check(struct auth *a, struct store_conn *db, const char *authorization,
			    const char *addr, struct who *who, int64_t *retry_after_s);

/* The same for a login and an API key given apart (the ?login=&api_key= query parameters of
 * API.md 4.3). Only an API key is accepted there: a password, a malformed key or a malformed
 * login is AUTH_FAILED at once (no lookup, no Argon2, no failure counted). */
enum auth_result auth_check_pair(struct auth *a, struct store_conn *db, const char *raw_login,
				 const char *secret, const char *addr, struct who *who,
				 int64_t *retry_after_s);

/* The same for a login and a password given apart (the cabinet's sign-in, POST /session/):
 * the same counters, lockout, cache and Argon2 bound as Basic auth, so a failed sign-in counts
 * as a failed Basic auth of that login. Only a password is accepted there: an API key, a
 * malformed login or a password of 512 bytes or more is AUTH_FAILED at once (no lookup, no
 * Argon2, no failure counted). */
enum auth_result auth_check_login(struct auth *a, struct store_conn *db, const char *raw_login,
				  const char *password, const char *addr, struct who *who,
				  int64_t *retry_after_s);

/* Splits an Authorization header value "Basic base64(login:password)" into the login,
 * normalized as accounts are found by (a lower-cased email or a phone's digits; login_cap
 * bytes), and the password (password_cap bytes). Pure: no storage, no Argon2. Returns false,
 * with login and password not meaningful, for a missing or malformed header, bad base64, a NUL
 * or invalid UTF-8 in the decoded text, no colon, a malformed login or a password that does
 * not fit. */
bool auth_parse_basic(const char *header, char *login, size_t login_cap, char *password,
		      size_t password_cap) MUST_CHECK;

/* Forgets every cached credential of an account (password, role or login changed, account
 * removed, API key revoked). Call it after the change committed and before it is answered: a
 * check of that account that began before and has not decided yet then looks again, so no
 * request is authenticated with the old credential or role after the answer. */
void auth_forget_account(struct auth *a, int64_t account_id);

/* API keys are "kpk_<id>_<secret: 32 hex>": parse gives the id and points at the secret
 * (false: not a key's shape); digest is the SHA-256 (hex) of the secret, what is stored. */
bool auth_key_parse(const char *key, int64_t *id_out, const char **secret_out);
void auth_key_digest(const char *secret, char out[65]);

/* Hashes a password for storage (Argon2id, libsodium's interactive limits). out holds
 * AUTH_HASH_MAX bytes. Returns false on out-of-memory. */
#define AUTH_HASH_MAX 128
bool auth_hash_password(const char *password, char *out) MUST_CHECK;

#endif
