/* The coupon catalog: the operations of store.h written once for both engines over the SQL
 * driver (store/sql.h). */
#include "store/sql.h"

#include "core/util.h"
#include "store/catalog.h"

/* The row of CATALOG_COLS. */
static void read_catalog(const struct sql_res *r, struct catalog_coupon *o)
{
	o->id = sql_int(r, 0);
	o->merchant_id = sql_int(r, 1);
	o->title = sql_str(r, 2);
	o->header = sql_str(r, 3);
	o->sub_header = sql_str(r, 4);
	o->short_description = sql_str(r, 5);
	o->long_description = sql_str(r, 6);
	o->image_path = sql_str(r, 7);
	o->style = sql_str(r, 8);
	o->valid_days = sql_int(r, 9);
	o->valid_until = sql_int(r, 10);
	o->deleted = sql_bool(r, 11);
	o->created_ms = sql_int(r, 12);
}

enum store_rc store_catalog_create(struct store_conn *c, const struct catalog_coupon *cc,
				   int64_t *id_out)
{
	return sql_insert(c, SQL_CATALOG_CREATE, id_out, "issssssszzbi", cc->merchant_id, cc->title,
			  cc->header, cc->sub_header, cc->short_description, cc->long_description,
			  cc->image_path, cc->style, cc->valid_days, cc->valid_until, cc->deleted,
			  cc->created_ms);
}

enum store_rc store_catalog_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct catalog_coupon *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_CATALOG_GET, &r, "ii", merchant_id, id);
	if (rc != STORE_OK)
		return rc;
	read_catalog(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_catalog_update(struct store_conn *c, const struct catalog_coupon *cc)
{
	return sql_touch(c, SQL_CATALOG_UPDATE, "ssssssszzii", cc->title, cc->header,
			 cc->sub_header, cc->short_description, cc->long_description,
			 cc->image_path, cc->style, cc->valid_days, cc->valid_until,
			 cc->merchant_id, cc->id);
}

enum store_rc store_catalog_delete(struct store_conn *c, int64_t merchant_id, int64_t id)
{
	return sql_touch(c, SQL_CATALOG_DELETE, "ii", merchant_id, id);
}

enum store_rc store_catalog_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
				 int64_t limit, catalog_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_CATALOG_LIST, &r, "iii", merchant_id, limit, offset);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct catalog_coupon cc = {0};
		read_catalog(&r, &cc);
		bool more = row(ctx, &cc);
		catalog_coupon_clear(&cc);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}
