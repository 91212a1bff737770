/* Webhook endpoints, the outbox of events and their deliveries (issue 16): the operations of
 * store.h written once for both engines over the SQL driver (store/sql.h).
 *
 * Two nodes never send the same delivery at once: a claim writes a lease (an expiry and a
 * random token) on rows whose lease has run out, in a write transaction, so of two claims of
 * one row the second sees the first's lease (PostgreSQL re-checks the condition on the row it
 * waited for; SQLite has one writer). A node that dies mid-send leaves a lease that runs out,
 * and the delivery is claimed again: at least once. */
#include "store/sql.h"
#include "store/webhooks.h"

#include <stdlib.h>
#include <string.h>

void webhook_endpoint_clear(struct webhook_endpoint *e)
{
	free(e->url);
	free(e->secret);
	memset(e, 0, sizeof(*e));
}

void webhook_job_clear(struct webhook_job *j)
{
	free(j->url);
	free(j->secret);
	free(j->data);
	memset(j, 0, sizeof(*j));
}

/* The row of WEBHOOK_COLS. */
static void read_endpoint(const struct sql_res *r, struct webhook_endpoint *e)
{
	e->id = sql_int(r, 0);
	e->merchant_id = sql_int(r, 1);
	e->url = sql_str(r, 2);
	e->secret = sql_str(r, 3);
	e->events = sql_int(r, 4);
	e->active = sql_bool(r, 5);
	e->created_ms = sql_int(r, 6);
}

enum store_rc store_webhook_create(struct store_conn *c, const struct webhook_endpoint *e,
				   int64_t *id_out)
{
	c->mask_merchant = 0;
	return sql_insert(c, SQL_WEBHOOK_CREATE, id_out, "issibi", e->merchant_id, e->url,
			  e->secret, e->events, (int)e->active, e->created_ms);
}

enum store_rc store_webhook_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct webhook_endpoint *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_WEBHOOK_GET, &r, "ii", merchant_id, id);
	if (rc != STORE_OK)
		return rc;
	read_endpoint(&r, out);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_webhooks_list(struct store_conn *c, int64_t merchant_id, webhook_row_fn row,
				  void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_WEBHOOKS_LIST, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct webhook_endpoint e = {0};
		read_endpoint(&r, &e);
		bool more = row(ctx, &e);
		webhook_endpoint_clear(&e);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_webhook_update(struct store_conn *c, const struct webhook_endpoint *e)
{
	c->mask_merchant = 0;
	return sql_touch(c, SQL_WEBHOOK_UPDATE, "ssibii", e->url, e->secret, e->events,
			 (int)e->active, e->merchant_id, e->id);
}

enum store_rc store_webhook_delete(struct store_conn *c, int64_t merchant_id, int64_t id)
{
	c->mask_merchant = 0;
	enum store_rc rc = sql_sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	rc = sql_touch(c, SQL_WEBHOOK_DELETE, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_WEBHOOK_ATTEMPTS_DROP, NULL, "i", id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_WEBHOOK_DELIVERIES_DROP, NULL, "i", id);
	return sql_sp_end(c, rc);
}

enum store_rc store_webhook_mask(struct store_conn *c, int64_t merchant_id, int64_t *mask_out)
{
	struct sql_res r;
	*mask_out = 0;
	if (c->mask_merchant == merchant_id) {
		*mask_out = c->mask;
		return STORE_OK;
	}
	enum store_rc rc = sql_query(c, SQL_WEBHOOK_MASKS, &r, "i", merchant_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r))
		*mask_out |= sql_int(&r, 0);
	rc = sql_end(&r);
	sql_close(&r);
	if (rc == STORE_OK && c->in_tx) {
		c->mask_merchant = merchant_id;
		c->mask = *mask_out;
	}
	return rc;
}

enum store_rc store_event_create(struct store_conn *c, struct webhook_event *ev)
{
	enum store_rc rc =
	    sql_insert(c, SQL_EVENT_CREATE, &ev->id, "sidzis", ev->public_id, ev->merchant_id,
		       ev->type, ev->client_id, ev->created_ms, ev->data);
	if (rc != STORE_OK)
		return rc;
	return sql_exec(c, SQL_EVENT_FAN_OUT, NULL, "iziii", ev->id, ev->client_id, ev->created_ms,
			ev->merchant_id, (int64_t)1 << ev->type);
}

enum store_rc store_event_redeliver(struct store_conn *c, int64_t merchant_id,
				    const char *public_id, int64_t now, int64_t *n_out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_EVENT_FIND, &r, "is", merchant_id, public_id);
	if (rc != STORE_OK)
		return rc;
	int64_t event_id = sql_int(&r, 0);
	sql_close(&r);
	return sql_exec(c, SQL_EVENT_REDELIVER, n_out, "iii", now, merchant_id, event_id);
}

enum store_rc store_webhook_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				  const char *token, size_t max, webhook_job_fn row, void *ctx)
{
	int64_t claimed = 0;
	enum store_rc rc =
	    sql_exec(c, SQL_WEBHOOK_CLAIM, &claimed, "isii", lease_until, token, now, (int64_t)max);
	if (rc != STORE_OK || claimed == 0)
		return rc;
	struct sql_res r;
	rc = sql_query(c, SQL_WEBHOOK_JOBS, &r, "s", token);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct webhook_job j = {.id = sql_int(&r, 0),
					.attempts = sql_int(&r, 1),
					.first_ms = sql_int(&r, 2),
					.url = sql_str(&r, 3),
					.secret = sql_str(&r, 4),
					.type = (int)sql_int(&r, 6),
					.event_ms = sql_int(&r, 7),
					.data = sql_str(&r, 8)};
		sql_copy(&r, 5, j.event_id, sizeof(j.event_id));
		if (!row(ctx, &j))
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_webhook_record(struct store_conn *c, int64_t delivery_id, const char *token,
				   enum webhook_status status, int64_t next_ms, int64_t http_status,
				   const char *error, int64_t latency_ms, int64_t now)
{
	enum store_rc rc = sql_insert(c, SQL_WEBHOOK_ATTEMPT_ADD, NULL, "iinsi", delivery_id, now,
				      http_status, error, latency_ms);
	if (rc != STORE_OK)
		return rc;
	rc = sql_touch(c, SQL_WEBHOOK_RECORD, "dinsis", (int)status, next_ms, http_status, error,
		       delivery_id, token);
	if (rc == STORE_NOT_FOUND) {
		enum store_rc counted =
		    sql_exec(c, SQL_WEBHOOK_ATTEMPT_COUNT, NULL, "i", delivery_id);
		if (counted != STORE_OK)
			return counted;
	}
	return rc;
}

enum store_rc store_webhook_deliveries(struct store_conn *c, int64_t merchant_id,
				       int64_t endpoint_id, int64_t offset, int64_t limit,
				       webhook_delivery_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_WEBHOOK_DELIVERIES, &r, "iiii", merchant_id,
				     endpoint_id, limit, offset);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct webhook_delivery d = {.id = sql_int(&r, 0),
					     .type = (int)sql_int(&r, 2),
					     .status = (enum webhook_status)sql_int(&r, 3),
					     .attempts = sql_int(&r, 4),
					     .next_ms = sql_int(&r, 5),
					     .last_status = sql_null(&r, 6) ? -1 : sql_int(&r, 6),
					     .last_error = sql_str(&r, 7),
					     .created_ms = sql_int(&r, 8)};
		sql_copy(&r, 1, d.event_id, sizeof(d.event_id));
		bool more = row(ctx, &d);
		free(d.last_error);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_webhook_attempts(struct store_conn *c, int64_t delivery_id, int64_t max,
				     webhook_attempt_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_WEBHOOK_ATTEMPTS, &r, "ii", delivery_id, max);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct webhook_attempt a = {.at_ms = sql_int(&r, 0),
					    .http_status = sql_null(&r, 1) ? -1 : sql_int(&r, 1),
					    .error = sql_null(&r, 2) ? NULL : sql_str(&r, 2),
					    .latency_ms = sql_int(&r, 3)};
		bool more = row(ctx, &a);
		free((char *)a.error);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_client_events(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				  webhook_event_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc = sql_query(c, SQL_CLIENT_EVENTS, &r, "ii", merchant_id, client_id);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct webhook_event ev = {.id = sql_int(&r, 0),
					   .merchant_id = merchant_id,
					   .client_id = client_id,
					   .type = (int)sql_int(&r, 2),
					   .created_ms = sql_int(&r, 3),
					   .data = c->sql->text(&r, 4)};
		sql_copy(&r, 1, ev.public_id, sizeof(ev.public_id));
		if (!row(ctx, &ev))
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_event_set_data(struct store_conn *c, int64_t id, const char *data)
{
	return sql_exec(c, SQL_EVENT_SET_DATA, NULL, "si", data, id);
}
