/* Merchants, accounts, API keys, lockout counters and the cabinet's sessions: the operations
 * of store.h written once for both engines over the SQL driver (store/sql.h). */
#include "store/sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/util.h"
#include "store/accounts.h"

enum store_rc store_merchant_create(struct store_conn *c, const char *name, int64_t now,
				    int64_t *id_out)
{
	/* The join page's code (/j/{code}): 64 random bits, as the migration made them. */
	char join_code[17];
	random_hex(join_code, 8);
	return sql_insert(c, SQL_MERCHANT_CREATE, id_out, "sis", name, now, join_code);
}

enum store_rc store_merchant_join_code(struct store_conn *c, int64_t merchant_id,
				       char out[MERCHANT_JOIN_CODE_BYTES])
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_MERCHANT_JOIN_CODE, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	sql_copy(&r, 0, out, MERCHANT_JOIN_CODE_BYTES);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_merchant_by_join_code(struct store_conn *c, const char *code,
					  int64_t *merchant_id_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_MERCHANT_BY_JOIN_CODE, &r, "s", code);
	if (rc != STORE_OK)
		return rc;
	*merchant_id_out = sql_int(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

/* ---- accounts ---- */

/* The row of ACCOUNT_COLS. */
static void read_account(const struct sql_res *r, struct account *out)
{
	out->id = sql_int(r, 0);
	out->merchant_id = sql_int(r, 1);
	out->kind = (enum account_kind)sql_int(r, 2);
	out->role = (enum role)sql_int(r, 3);
	out->email = sql_str(r, 4);
	out->phone = sql_str(r, 5);
	out->password_hash = sql_str(r, 6);
	out->first_name = sql_str(r, 7);
	out->last_name = sql_str(r, 8);
	out->cred_version = sql_int(r, 9);
	out->inn = sql_str(r, 10);
	sql_copy(r, 11, out->staff_login, sizeof(out->staff_login));
	out->created_ms = sql_int(r, 12);
}

/* The one account a statement run by sql_row found. */
static enum store_rc account_one(enum store_rc rc, struct sql_res *r, struct account *out)
{
	if (rc != STORE_OK)
		return rc;
	read_account(r, out);
	sql_close(r);
	return STORE_OK;
}

enum store_rc store_account_create(struct store_conn *c, const struct account *a, int64_t *id_out)
{
	return sql_insert(c, SQL_ACCOUNT_CREATE, id_out, "iddssssssiss", a->merchant_id,
			  (int)a->kind, (int)a->role, a->email, a->email, a->phone,
			  a->password_hash, a->first_name, a->last_name, now_ms(), a->inn,
			  a->staff_login[0] ? a->staff_login : NULL);
}

enum store_rc store_account_find_login(struct store_conn *c, const char *login, struct account *out)
{
	struct sql_res r;
	return account_one(sql_row(c, SQL_ACCOUNT_FIND, &r, "s", login), &r, out);
}

enum store_rc store_account_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct account *out)
{
	struct sql_res r;
	return account_one(sql_row(c, SQL_ACCOUNT_GET, &r, "ii", merchant_id, id), &r, out);
}

enum store_rc store_account_self(struct store_conn *c, int64_t id, struct account *out)
{
	struct sql_res r;
	return account_one(sql_row(c, SQL_ACCOUNT_SELF, &r, "i", id), &r, out);
}

enum store_rc store_employees_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
				   int64_t limit, account_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_EMPLOYEES_LIST, &r, "iii", merchant_id, limit, offset);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct account a = {0};
		read_account(&r, &a);
		bool more = row(ctx, &a);
		account_clear(&a);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_account_update(struct store_conn *c, const struct account *a)
{
	return sql_touch(c, SQL_ACCOUNT_UPDATE, "ssssssdssii", a->email, a->email, a->phone,
			 a->first_name, a->last_name, a->inn, (int)a->role, a->password_hash,
			 a->password_hash, a->merchant_id, a->id);
}

enum store_rc store_account_delete(struct store_conn *c, int64_t merchant_id, int64_t id)
{
	enum store_rc rc = sql_touch(c, SQL_ACCOUNT_DELETE, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_KEYS_REVOKE_ACCOUNT, NULL, "ii", now_ms(), id);
	return rc;
}

/* ---- API keys ---- */

/* The row of KEY_COLS. */
static void read_key(const struct sql_res *r, struct api_key *k)
{
	k->id = sql_int(r, 0);
	k->merchant_id = sql_int(r, 1);
	k->account_id = sql_int(r, 2);
	sql_copy(r, 3, k->hash, sizeof(k->hash));
	k->created_ms = sql_int(r, 4);
	k->revoked = !sql_null(r, 5);
}

enum store_rc store_api_key_create(struct store_conn *c, const struct api_key *k, int64_t *id_out)
{
	return sql_insert(c, SQL_KEY_CREATE, id_out, "iisi", k->merchant_id, k->account_id, k->hash,
			  k->created_ms);
}

enum store_rc store_api_key_get(struct store_conn *c, int64_t id, struct api_key *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_KEY_GET, &r, "i", id);
	if (rc != STORE_OK)
		return rc;
	read_key(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_api_keys_list(struct store_conn *c, int64_t merchant_id, api_key_row_fn row,
				  void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_KEYS_LIST, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct api_key k = {0};
		read_key(&r, &k);
		if (!row(ctx, &k))
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_api_key_revoke(struct store_conn *c, int64_t merchant_id, int64_t id,
				   int64_t now)
{
	return sql_touch(c, SQL_KEY_REVOKE, "iii", now, merchant_id, id);
}

/* ---- lockout counters ---- */

enum store_rc store_auth_counter_get(struct store_conn *c, const char *key,
				     struct auth_counter *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_AUTH_COUNTER_GET, &r, "s", key);
	if (rc != STORE_OK)
		return rc;
	out->failures = sql_int(&r, 0);
	out->window_start_ms = sql_int(&r, 1);
	out->locked_until_ms = sql_int(&r, 2);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_auth_counter_put(struct store_conn *c, const char *key,
				     const struct auth_counter *in)
{
	return sql_exec(c, SQL_AUTH_COUNTER_PUT, NULL, "siii", key, in->failures,
			in->window_start_ms, in->locked_until_ms);
}

/* ---- the merchant cabinet's sessions ---- */

enum store_rc store_lk_session_create(struct store_conn *c, const struct lk_session *s)
{
	return sql_insert(c, SQL_LK_SESSION_CREATE, NULL, "siisidii", s->token_hash, s->account_id,
			  s->merchant_id, s->csrf, s->cred_version, (int)s->role, s->created_ms,
			  s->seen_ms);
}

enum store_rc store_lk_session_get(struct store_conn *c, const char *token_hash,
				   struct lk_session *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_LK_SESSION_GET, &r, "s", token_hash);
	if (rc != STORE_OK)
		return rc;
	snprintf(out->token_hash, sizeof(out->token_hash), "%s", token_hash);
	out->account_id = sql_int(&r, 0);
	out->merchant_id = sql_int(&r, 1);
	sql_copy(&r, 2, out->csrf, sizeof(out->csrf));
	out->cred_version = sql_int(&r, 3);
	out->role = (enum role)sql_int(&r, 4);
	out->created_ms = sql_int(&r, 5);
	out->seen_ms = sql_int(&r, 6);
	free(out->merchant_name);
	out->merchant_name = sql_str(&r, 7);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_lk_session_touch(struct store_conn *c, const char *token_hash, int64_t seen_ms)
{
	return sql_exec(c, SQL_LK_SESSION_TOUCH, NULL, "is", seen_ms, token_hash);
}

enum store_rc store_lk_session_delete(struct store_conn *c, const char *token_hash)
{
	return sql_exec(c, SQL_LK_SESSION_DELETE, NULL, "s", token_hash);
}

enum store_rc store_lk_sessions_purge(struct store_conn *c, int64_t idle_before_ms,
				      int64_t created_before_ms, int64_t *n_out)
{
	return sql_exec(c, SQL_LK_SESSIONS_PURGE, n_out, "ii", idle_before_ms, created_before_ms);
}
