/* Customer imports (issue 14): the operations of store.h on the imports table, written once for
 * both engines over the SQL driver (store/sql.h). */
#include <stdlib.h>
#include <string.h>

#include "store/imports.h"
#include "store/sql.h"

void import_rec_clear(struct import_rec *r)
{
	free(r->csv);
	free(r->result);
	memset(r, 0, sizeof(*r));
}

/* The row of IMPORT_COLS. */
static void read_import(const struct sql_res *r, struct import_rec *out)
{
	out->id = sql_int(r, 0);
	out->merchant_id = sql_int(r, 1);
	sql_copy(r, 2, out->sha256, sizeof(out->sha256));
	out->status = sql_int(r, 3) == 1 ? IMPORT_APPLIED : IMPORT_PREVIEW;
	out->total_rows = sql_int(r, 4);
	out->valid_rows = sql_int(r, 5);
	out->problems = sql_int(r, 6);
	out->result = sql_str(r, 7);
	out->created_ms = sql_int(r, 8);
	out->applied_ms = sql_int(r, 9);
	out->csv = sql_str(r, 10);
}

static enum store_rc import_one(enum store_rc rc, struct sql_res *r, struct import_rec *out)
{
	if (rc != STORE_OK)
		return rc;
	read_import(r, out);
	sql_close(r);
	return STORE_OK;
}

enum store_rc store_import_create(struct store_conn *c, const struct import_rec *r, int64_t *id_out)
{
	return sql_insert(c, SQL_IMPORT_CREATE, id_out, "isdiiisszi", r->merchant_id, r->sha256,
			  (int)r->status, r->total_rows, r->valid_rows, r->problems, r->csv,
			  r->result, r->created_by, r->created_ms);
}

enum store_rc store_import_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct import_rec *out)
{
	struct sql_res r;
	return import_one(sql_row(c, SQL_IMPORT_GET, &r, "ii", merchant_id, id), &r, out);
}

enum store_rc store_import_find(struct store_conn *c, int64_t merchant_id, const char *sha256,
				struct import_rec *out)
{
	struct sql_res r;
	return import_one(sql_row(c, SQL_IMPORT_FIND, &r, "is", merchant_id, sha256), &r, out);
}

enum store_rc store_import_update(struct store_conn *c, const struct import_rec *r)
{
	return sql_touch(c, SQL_IMPORT_UPDATE, "diiiszii", (int)r->status, r->total_rows,
			 r->valid_rows, r->problems, r->result, r->applied_ms, r->merchant_id,
			 r->id);
}
