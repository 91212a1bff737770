/* A merchant's settings, sale points and documents, and the Idempotency-Key records: the
 * operations of store.h written once for both engines over the SQL driver (store/sql.h). */
#include "store/sql.h"

#include "core/util.h"
#include "store/merchant.h"

/* ---- loyalty settings ---- */

/* One accrual setting from four columns from i. */
static void read_accrual(const struct sql_res *r, int i, struct accrual_setting *a)
{
	a->coupon_id = sql_int(r, i);
	a->rule.type = sql_int(r, i + 1) == 0 ? ACCRUAL_AMOUNT : ACCRUAL_PERCENTAGE;
	a->rule.amount = sql_int(r, i + 2);
	a->valid_days = sql_int(r, i + 3);
}

enum store_rc store_settings_get(struct store_conn *c, int64_t merchant_id,
				 struct loyalty_settings *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_SETTINGS_GET, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	out->active = sql_bool(&r, 0);
	out->currency = sql_int(&r, 1) == 1 ? CUR_RUBLES : CUR_POINTS;
	read_accrual(&r, 2, &out->new_customer);
	read_accrual(&r, 6, &out->customer);
	out->auto_register = sql_bool(&r, 10);
	out->max_spend_percent = sql_int(&r, 11);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_settings_ahead(struct store_conn *c, int64_t merchant_id)
{
	return sql_read_ahead(c, SQL_SETTINGS_GET, "i", merchant_id);
}

enum store_rc store_settings_put(struct store_conn *c, int64_t merchant_id,
				 const struct loyalty_settings *st)
{
	const struct accrual_setting *n = &st->new_customer, *u = &st->customer;
	return sql_exec(c, SQL_SETTINGS_PUT, NULL, "bdzdizzdizbii", st->active, (int)st->currency,
			n->coupon_id, (int)n->rule.type, n->rule.amount, n->valid_days,
			u->coupon_id, (int)u->rule.type, u->rule.amount, u->valid_days,
			st->auto_register, st->max_spend_percent, merchant_id);
}

/* ---- sale points ---- */

enum store_rc store_sale_points_list(struct store_conn *c, int64_t merchant_id,
				     sale_point_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_SP_LIST, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct sale_point sp = {.id = sql_int(&r, 0),
					.merchant_id = sql_int(&r, 1),
					.region = sql_str(&r, 2),
					.city = sql_str(&r, 3),
					.address = sql_str(&r, 4),
					.phone = sql_str(&r, 5)};
		bool more = row(ctx, &sp);
		sale_point_clear(&sp);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_sale_point_save(struct store_conn *c, const struct sale_point *sp,
				    int64_t *id_out)
{
	if (sp->id == 0)
		return sql_insert(c, SQL_SP_INSERT, id_out, "issss", sp->merchant_id, sp->region,
				  sp->city, sp->address, sp->phone);
	return sql_touch(c, SQL_SP_UPDATE, "ssssii", sp->region, sp->city, sp->address, sp->phone,
			 sp->merchant_id, sp->id);
}

enum store_rc store_sale_point_delete(struct store_conn *c, int64_t merchant_id, int64_t id)
{
	return sql_touch(c, SQL_SP_DELETE, "ii", merchant_id, id);
}

/* ---- settings documents ---- */

enum store_rc store_document_get(struct store_conn *c, int64_t merchant_id, const char *name,
				 char **json_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_DOC_GET, &r, "is", merchant_id, name);
	if (rc != STORE_OK)
		return rc;
	*json_out = sql_str(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_document_put(struct store_conn *c, int64_t merchant_id, const char *name,
				 const char *json)
{
	return sql_exec(c, SQL_DOC_PUT, NULL, "iss", merchant_id, name, json);
}

/* ---- Idempotency-Key records ---- */

enum store_rc store_idem_get(struct store_conn *c, int64_t merchant_id, const char *scope,
			     const char *key, int64_t not_before_ms, struct idem_record *out)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_row(c, SQL_IDEM_GET, &r, "issi", merchant_id, scope, key, not_before_ms);
	if (rc != STORE_OK)
		return rc;
	sql_copy(&r, 0, out->request_hash, sizeof(out->request_hash));
	out->status = (int)sql_int(&r, 1);
	out->body = sql_str(&r, 2);
	out->created_ms = sql_int(&r, 3);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_idem_put(struct store_conn *c, int64_t merchant_id, const char *scope,
			     const char *key, const struct idem_record *in)
{
	return sql_insert(c, SQL_IDEM_PUT, NULL, "isssdsi", merchant_id, scope, key,
			  in->request_hash, in->status, in->body, in->created_ms);
}

enum store_rc store_idem_purge(struct store_conn *c, int64_t before_ms, int64_t *n_out)
{
	return sql_exec(c, SQL_IDEM_PURGE, n_out, "i", before_ms);
}
