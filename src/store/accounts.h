/* Storage operations of merchants, accounts, API keys, lockout counters, join codes and the
 * cabinet's sessions, written once in store/sql_accounts.c over the driver of store/sql.h.
 * Conventions (merchant scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_ACCOUNTS_H
#define KOPILKA_STORE_ACCOUNTS_H

#include "store/store.h"

typedef bool (*account_row_fn)(void *ctx, const struct account *a);
typedef bool (*api_key_row_fn)(void *ctx, const struct api_key *k);
/* A failed-login counter shared by every node (API.md 7): for one login or one address. */
struct auth_counter {
	int64_t failures;	 /* within the window */
	int64_t window_start_ms; /* when the window began */
	int64_t locked_until_ms; /* 0: not locked */
};
/* A merchant's join code as stored: 16 lowercase hex digits and the NUL (room for 32). */
#define MERCHANT_JOIN_CODE_BYTES 33

/* Merchants and accounts. */
enum store_rc store_merchant_create(struct store_conn *c, const char *name, int64_t now,
				    int64_t *id_out) MUST_CHECK;
/* CONFLICT when the email or phone is another account's login. */
enum store_rc store_account_create(struct store_conn *c, const struct account *a,
				   int64_t *id_out) MUST_CHECK;
/* A merchant's employee account (not deleted). */
enum store_rc store_account_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct account *out) MUST_CHECK;
/* Any account (owner or employee, not deleted) by id: the caller's own. */
enum store_rc store_account_self(struct store_conn *c, int64_t id, struct account *out) MUST_CHECK;
/* The merchant's employees (not deleted), by id. */
enum store_rc store_employees_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
				   int64_t limit, account_row_fn row, void *ctx) MUST_CHECK;
/* Writes email, phone, names, inn and role of a->id (of a->merchant_id), and the password
 * hash when a->password_hash is not NULL (bumping cred_version). CONFLICT when the email
 * or phone is another account's login; NOT_FOUND when there is no such employee. */
enum store_rc store_account_update(struct store_conn *c, const struct account *a) MUST_CHECK;
/* Deletes an employee: its logins are freed, its keys revoked, its rows (orders it made)
 * keep pointing at it. NOT_FOUND when there is no such employee. */
enum store_rc store_account_delete(struct store_conn *c, int64_t merchant_id,
				   int64_t id) MUST_CHECK;
enum store_rc store_api_key_create(struct store_conn *c, const struct api_key *k,
				   int64_t *id_out) MUST_CHECK;
enum store_rc store_api_key_get(struct store_conn *c, int64_t id, struct api_key *out) MUST_CHECK;
/* The merchant's keys that are not revoked, by id. */
enum store_rc store_api_keys_list(struct store_conn *c, int64_t merchant_id, api_key_row_fn row,
				  void *ctx) MUST_CHECK;
/* NOT_FOUND when the key is not the merchant's or already revoked. */
enum store_rc store_api_key_revoke(struct store_conn *c, int64_t merchant_id, int64_t id,
				   int64_t now) MUST_CHECK;
/* login: a lower-cased email or a phone's digits. */
enum store_rc store_account_find_login(struct store_conn *c, const char *login,
				       struct account *out) MUST_CHECK;
/* The merchant's join code (the public join page /j/{code}) into out; by_join_code:
 * the merchant of a code (NOT_FOUND: none). */
enum store_rc store_merchant_join_code(struct store_conn *c, int64_t merchant_id,
				       char out[MERCHANT_JOIN_CODE_BYTES]) MUST_CHECK;
enum store_rc store_merchant_by_join_code(struct store_conn *c, const char *code,
					  int64_t *merchant_id_out) MUST_CHECK;
/* Lockout counters, keyed by a digest naming a login or an address. get: NOT_FOUND when
 * there is none; put: insert or replace. */
enum store_rc store_auth_counter_get(struct store_conn *c, const char *key,
				     struct auth_counter *out) MUST_CHECK;
enum store_rc store_auth_counter_put(struct store_conn *c, const char *key,
				     const struct auth_counter *in) MUST_CHECK;
/* The merchant cabinet's sessions (api/session.c), keyed by the SHA-256 (hex) of the
 * cookie token. create: CONFLICT when the hash exists. get: the row and the merchant's
 * name (out->merchant_name owned: lk_session_clear); NOT_FOUND when none. touch: writes
 * seen_ms when it moves the time forward. delete: OK whether or not it existed. purge:
 * removes those seen at or before idle_before_ms or created at or before
 * created_before_ms; *n_out: how many. */
enum store_rc store_lk_session_create(struct store_conn *c, const struct lk_session *s) MUST_CHECK;
enum store_rc store_lk_session_get(struct store_conn *c, const char *token_hash,
				   struct lk_session *out) MUST_CHECK;
enum store_rc store_lk_session_touch(struct store_conn *c, const char *token_hash,
				     int64_t seen_ms) MUST_CHECK;
enum store_rc store_lk_session_delete(struct store_conn *c, const char *token_hash) MUST_CHECK;
enum store_rc store_lk_sessions_purge(struct store_conn *c, int64_t idle_before_ms,
				      int64_t created_before_ms, int64_t *n_out) MUST_CHECK;

#endif
