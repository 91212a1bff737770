/* Apple Wallet pass updates (issue 15): the PassKit web service's device registrations and the
 * card_updates queue, the operations of store.h written once for both engines over the SQL
 * driver (store/sql.h). The queue's lease works as the webhook deliveries' (sql_webhooks.c):
 * a claim writes a lease on rows whose lease ran out, so two nodes never push one update at
 * once, and a node killed mid-push leaves a lease that runs out: at least once. */
#include "store/sql.h"
#include "store/wallet.h"

#include <stdlib.h>
#include <string.h>

enum store_rc store_pass_register(struct store_conn *c, const char *device_id,
				  const char *pass_type_id, int64_t merchant_id, int64_t client_id,
				  const char *push_token, int64_t now, bool *created)
{
	int64_t changed = 0;
	*created = false;
	enum store_rc rc = sql_exec(c, SQL_PASS_REG_UPDATE, &changed, "sssi", push_token, device_id,
				    pass_type_id, client_id);
	if (rc != STORE_OK || changed > 0)
		return rc;
	rc = sql_exec(c, SQL_PASS_REG_INSERT, &changed, "ssiisi", device_id, pass_type_id,
		      merchant_id, client_id, push_token, now);
	*created = rc == STORE_OK && changed > 0;
	return rc;
}

enum store_rc store_pass_unregister(struct store_conn *c, const char *device_id,
				    const char *pass_type_id, int64_t client_id)
{
	return sql_exec(c, SQL_PASS_REG_DELETE, NULL, "ssi", device_id, pass_type_id, client_id);
}

enum store_rc store_pass_serials(struct store_conn *c, const char *device_id,
				 const char *pass_type_id, int64_t since, pass_serial_fn row,
				 void *ctx)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_query(c, SQL_PASS_SERIALS, &r, "ssi", device_id, pass_type_id, since);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r))
		if (!row(ctx, sql_int(&r, 0), sql_int(&r, 1), sql_int(&r, 2)))
			break;
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_pass_devices(struct store_conn *c, int64_t client_id, pass_device_fn row,
				 void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_PASS_DEVICES, &r, "i", client_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		char *device = sql_str(&r, 0), *token = sql_str(&r, 1), *type = sql_str(&r, 2);
		bool more = row(ctx, device ? device : "", token ? token : "", type ? type : "");
		free(device);
		free(token);
		free(type);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_pass_device_drop(struct store_conn *c, int64_t client_id, const char *device_id,
				     const char *push_token)
{
	return sql_exec(c, SQL_PASS_REG_DROP, NULL, "iss", client_id, device_id, push_token);
}

enum store_rc store_card_update_tag(struct store_conn *c, int64_t client_id, int64_t *tag_out)
{
	struct sql_res r;
	*tag_out = 0;
	enum store_rc rc = sql_row(c, SQL_CARD_UPDATE_TAG, &r, "i", client_id);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	if (rc != STORE_OK)
		return rc;
	*tag_out = sql_int(&r, 0);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_card_update_note(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				     int64_t now)
{
	return sql_exec(c, SQL_CARD_UPDATE_NOTE, NULL, "iii", client_id, merchant_id, now);
}

enum store_rc store_card_updates_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				       const char *token, size_t max, card_update_fn row, void *ctx)
{
	int64_t claimed = 0;
	enum store_rc rc = sql_exec(c, SQL_CARD_UPDATES_CLAIM, &claimed, "isii", lease_until, token,
				    now, (int64_t)max);
	if (rc != STORE_OK || claimed == 0)
		return rc;
	struct sql_res r;
	rc = sql_query(c, SQL_CARD_UPDATES_JOBS, &r, "s", token);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct card_update_job j = {.client_id = sql_int(&r, 0),
					    .merchant_id = sql_int(&r, 1),
					    .updated_ms = sql_int(&r, 2),
					    .attempts = sql_int(&r, 3),
					    .first_ms = sql_int(&r, 4)};
		if (!row(ctx, &j))
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_card_update_record(struct store_conn *c, int64_t client_id, const char *token,
				       bool done, int64_t next_ms)
{
	int64_t changed = 0;
	enum store_rc rc =
	    done ? sql_exec(c, SQL_CARD_UPDATE_DONE, &changed, "is", client_id, token)
		 : sql_exec(c, SQL_CARD_UPDATE_RETRY, &changed, "iis", next_ms, client_id, token);
	if (rc == STORE_OK && changed == 0)
		return STORE_NOT_FOUND;
	return rc;
}
