/* Coupon instances and their merchant codes: the operations of store.h written once for both
 * engines over the SQL driver (store/sql.h).
 *
 * A usable instance's two merchant codes are rows of coupon_codes, unique per merchant; an
 * instance that stops being usable frees them, one that becomes usable again claims them
 * anew. A claim that clashes answers CONFLICT without an error (ON CONFLICT DO NOTHING), so
 * the transaction goes on; the operations of several statements run inside a savepoint, so
 * such a CONFLICT leaves nothing behind. */
#include "store/sql.h"

#include <string.h>

#include "core/util.h"
#include "store/coupons.h"

/* The row of INSTANCE_COLS. */
static void read_instance(const struct sql_res *r, struct coupon_instance *o)
{
	o->id = sql_int(r, 0);
	o->merchant_id = sql_int(r, 1);
	o->client_id = sql_int(r, 2);
	o->coupon_id = sql_int(r, 3);
	o->status = (enum coupon_status)sql_int(r, 4);
	o->issued_ms = sql_int(r, 5);
	o->expires_ms = sql_int(r, 6);
	sql_copy(r, 7, o->token, sizeof(o->token));
	sql_copy(r, 8, o->share_token, sizeof(o->share_token));
	sql_copy(r, 9, o->merchant_token, sizeof(o->merchant_token));
	sql_copy(r, 10, o->merchant_share_token, sizeof(o->merchant_share_token));
	o->issued_order_id = sql_int(r, 11);
	o->redeemed_order_id = sql_int(r, 12);
	o->catalog.title = sql_str(r, 13);
	o->catalog.header = sql_str(r, 14);
	o->catalog.sub_header = sql_str(r, 15);
	o->catalog.short_description = sql_str(r, 16);
	o->catalog.long_description = sql_str(r, 17);
}

/* Claims both codes for the instance: CONFLICT when either is another usable instance's
 * (the first may then stay claimed: callers run this inside a savepoint). */
static enum store_rc claim_codes(struct store_conn *c, int64_t merchant_id, int64_t id,
				 const char *code, const char *share_code)
{
	enum store_rc rc = sql_insert(c, SQL_CODE_CLAIM, NULL, "isi", merchant_id, code, id);
	if (rc == STORE_OK)
		rc = sql_insert(c, SQL_CODE_CLAIM, NULL, "isi", merchant_id, share_code, id);
	return rc;
}

enum store_rc store_coupon_issue(struct store_conn *c, const struct coupon_instance *ci,
				 int64_t *id_out)
{
	if (strcmp(ci->merchant_token, ci->merchant_share_token) == 0)
		return STORE_CONFLICT;
	enum store_rc rc = sql_sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	int64_t id = 0;
	rc = sql_insert(c, SQL_COUPON_ISSUE, &id, "iiiizssssz", ci->merchant_id, ci->client_id,
			ci->coupon_id, ci->issued_ms, ci->expires_ms, ci->token, ci->share_token,
			ci->merchant_token, ci->merchant_share_token, ci->issued_order_id);
	if (rc == STORE_OK)
		rc = claim_codes(c, ci->merchant_id, id, ci->merchant_token,
				 ci->merchant_share_token);
	rc = sql_sp_end(c, rc);
	if (rc == STORE_OK && id_out)
		*id_out = id;
	return rc;
}

enum store_rc store_coupon_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct coupon_instance *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_COUPON_GET, &r, "ii", merchant_id, id);
	if (rc != STORE_OK)
		return rc;
	read_instance(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_coupon_find_token(struct store_conn *c, int64_t merchant_id, int kind,
				      const char *token, int64_t *id_out)
{
	enum sql_id id = kind == 0   ? SQL_COUPON_BY_TOKEN
			 : kind == 1 ? SQL_COUPON_BY_SHARE
				     : SQL_COUPON_BY_CODE;
	struct sql_res r;
	enum store_rc rc = sql_row(c, id, &r, "is", merchant_id, token);
	if (rc != STORE_OK)
		return rc;
	*id_out = sql_int(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

/* Calls row for each coupon instance the query r finds, then ends and closes r. */
static enum store_rc instances_each(struct sql_res *r, coupon_row_fn row, void *ctx)
{
	while (sql_next(r)) {
		struct coupon_instance ci = {0};
		read_instance(r, &ci);
		bool more = row(ctx, &ci);
		coupon_instance_clear(&ci);
		if (!more)
			break;
	}
	enum store_rc rc = sql_end(r);
	sql_close(r);
	return rc;
}

enum store_rc store_coupons_usable(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				   int64_t now, coupon_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_COUPONS_USABLE, &r, "iii", merchant_id, client_id, now);
	if (rc != STORE_OK)
		return rc;
	return instances_each(&r, row, ctx);
}

enum store_rc store_client_coupons(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				   coupon_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_CLIENT_COUPONS_ALL, &r, "ii", merchant_id, client_id);
	if (rc != STORE_OK)
		return rc;
	return instances_each(&r, row, ctx);
}

/* The merchant of an instance and its two codes. */
static enum store_rc coupon_owner(struct store_conn *c, int64_t id, int64_t *merchant_id,
				  char code[7], char share_code[7])
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_COUPON_OWNER, &r, "i", id);
	if (rc != STORE_OK)
		return rc;
	*merchant_id = sql_int(&r, 0);
	sql_copy(&r, 1, code, 7);
	sql_copy(&r, 2, share_code, 7);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_coupon_set_codes(struct store_conn *c, int64_t id, const char *code,
				     const char *share_code)
{
	int64_t merchant_id;
	char old[7], old_share[7];
	enum store_rc rc = coupon_owner(c, id, &merchant_id, old, old_share);
	if (rc != STORE_OK)
		return rc;
	if (strcmp(code, share_code) == 0)
		return STORE_CONFLICT;
	/* All or nothing: a clash leaves the instance's old codes as they were. */
	rc = sql_sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	rc = sql_exec(c, SQL_CODES_FREE, NULL, "i", id);
	if (rc == STORE_OK)
		rc = claim_codes(c, merchant_id, id, code, share_code);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_COUPON_CODES_SET, NULL, "ssi", code, share_code, id);
	return sql_sp_end(c, rc);
}

enum store_rc store_coupon_set_status(struct store_conn *c, int64_t id, enum coupon_status status,
				      int64_t redeemed_order_id)
{
	enum store_rc rc =
	    sql_exec(c, SQL_COUPON_STATUS, NULL, "dzi", (int)status, redeemed_order_id, id);
	if (rc != STORE_OK)
		return rc;
	if (status != COUPON_ISSUED)
		return sql_exec(c, SQL_CODES_FREE, NULL, "i", id);
	/* Usable again: its codes must be unique among the usable ones once more. On CONFLICT
	 * the status stays ISSUED and the caller draws new codes (coupon_set_codes). */
	int64_t merchant_id;
	char code[7], share_code[7];
	rc = coupon_owner(c, id, &merchant_id, code, share_code);
	if (rc != STORE_OK)
		return rc;
	return claim_codes(c, merchant_id, id, code, share_code);
}

enum store_rc store_coupons_of_order(struct store_conn *c, int64_t order_id, int by, int64_t *ids,
				     size_t max, size_t *n_out)
{
	enum sql_id id = by == 2   ? SQL_COUPONS_OF_HOLD
			 : by == 1 ? SQL_COUPONS_ISSUED_BY
				   : SQL_COUPONS_REDEEMED_BY;
	struct sql_res r;
	size_t n = 0;
	enum store_rc rc = sql_query(c, id, &r, "ii", order_id, (int64_t)max);
	if (rc == STORE_OK) {
		while (n < max && sql_next(&r))
			ids[n++] = sql_int(&r, 0);
		if (n < max)
			rc = sql_end(&r);
		sql_close(&r);
	}
	*n_out = n;
	return rc;
}

enum store_rc store_coupon_set_hold(struct store_conn *c, int64_t id, int64_t hold_id)
{
	return sql_exec(c, SQL_COUPON_SET_HOLD, NULL, "zi", hold_id, id);
}

enum store_rc store_coupon_share_mark(struct store_conn *c, int64_t id, int64_t client_id,
				      int64_t given_id, int64_t now)
{
	enum store_rc rc =
	    sql_touch(c, SQL_COUPON_SHARE_MARK, "iiii", client_id, given_id, now, id);
	return rc == STORE_NOT_FOUND ? STORE_CONFLICT : rc;
}

enum store_rc store_coupon_share_get(struct store_conn *c, int64_t id, int64_t *client_out,
				     int64_t *given_out, int64_t *source_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_COUPON_SHARE_GET, &r, "i", id);
	if (rc != STORE_OK)
		return rc;
	*client_out = sql_int(&r, 0);
	*given_out = sql_int(&r, 1);
	*source_out = sql_int(&r, 2);
	sql_close(&r);
	return STORE_OK;
}
