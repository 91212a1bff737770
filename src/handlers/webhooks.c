/* Webhook endpoints, their delivery log and redelivery (API.md, "Webhooks"; owner only). The
 * events themselves are written by the workflows (service/events.c) and sent by the delivery
 * worker (service/webhooks.c). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/webhook.h"
#include "handlers/handlers.h"
#include "store/webhooks.h"

/* What an endpoint's answer shows of its secret once it was set: its first characters (and
 * its last 4 when it is long), enough to recognise it. */
#define SECRET_SHOWN 6

/* An endpoint as the API shows it: the secret whole only in the answer that set it. */
static void view_webhook(struct jw *w, const struct webhook_endpoint *e, bool whole_secret)
{
	jw_obj_begin(w);
	jw_kint(w, "id", e->id);
	jw_kstr(w, "url", e->url);
	if (whole_secret) {
		jw_kstr(w, "secret", e->secret);
	} else {
		char masked[SECRET_SHOWN + 16];
		size_t len = strlen(e->secret);
		snprintf(masked, sizeof(masked), "%.*s…%s", SECRET_SHOWN, e->secret,
			 len >= 4 * SECRET_SHOWN ? e->secret + len - 4 : "");
		jw_kstr(w, "secret", masked);
	}
	jw_key(w, "events");
	jw_arr_begin(w);
	for (int t = 0; t < EVENT_TYPE_COUNT; t++)
		if (e->events & EVENT_MASK(t))
			jw_str(w, event_type_name(t));
	jw_arr_end(w);
	jw_kbool(w, "active", e->active);
	jw_kint(w, "createdAt", e->created_ms);
	jw_obj_end(w);
}

static bool write_webhook_row(void *ctx, const struct webhook_endpoint *e)
{
	view_webhook(ctx, e, false);
	return true;
}

void webhooks_get(struct call *c)
{
	struct jw w;
	call_json(c, 200, &w);
	jw_arr_begin(&w);
	enum store_rc rc = STORE(c->db, webhooks_list, c->who.merchant_id, write_webhook_row, &w);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

/* Reads url, secret, events and active into e: required ones on create; on update only those
 * given replace e's (*secret_set: a secret was given). */
static bool parse_webhook(struct call *c, struct webhook_endpoint *e, bool create, bool *secret_set)
{
	const char *url = NULL, *secret = NULL, *rule = NULL;
	if (!body_string(c, c->body, "url", "url", create, 1, WEBHOOK_URL_MAX, &url))
		return false;
	if (url && !webhook_url_ok(url, &rule)) {
		call_error(c, 400, "validation_failed", "url: %s", rule);
		return false;
	}
	if (!body_string(c, c->body, "secret", "secret", false, WEBHOOK_SECRET_MIN,
			 WEBHOOK_SECRET_MAX, &secret))
		return false;
	if (secret && !webhook_secret_ok(secret)) {
		call_error(c, 400, "validation_failed",
			   "secret: must be %d to %d printable ASCII characters without spaces",
			   WEBHOOK_SECRET_MIN, WEBHOOK_SECRET_MAX);
		return false;
	}
	json_t *events = NULL;
	if (!body_array(c, c->body, "events", "events", create, &events))
		return false;
	int64_t mask = 0;
	if (events) {
		if (json_array_size(events) == 0) {
			call_error(c, 400, "validation_failed",
				   "events: must name at least one event type");
			return false;
		}
		size_t i;
		json_t *v;
		json_array_foreach(events, i, v)
		{
			int type = json_is_string(v) ? event_type_parse(json_string_value(v)) : -1;
			if (type < 0) {
				call_error(c, 400, "validation_failed",
					   "events[%zu]: must be one of client.created, "
					   "client.updated, order.created, balance.changed, "
					   "points.expiring, hold.created, hold.written_off, "
					   "hold.cancelled, hold.expired, coupon.issued, "
					   "coupon.redeemed",
					   i);
				return false;
			}
			mask |= EVENT_MASK(type);
		}
	}
	bool active = true, active_given = false;
	if (!body_bool(c, c->body, "active", "active", false, &active, &active_given))
		return false;
	if (url) {
		free(e->url);
		e->url = xstrdup(url);
	}
	*secret_set = secret != NULL || create;
	if (secret) {
		free(e->secret);
		e->secret = xstrdup(secret);
	} else if (create) {
		/* Generated: 32 random bytes in hex, with Stripe's prefix so it reads as a secret.
		 */
		char hex[65];
		random_hex(hex, 32);
		char generated[72];
		snprintf(generated, sizeof(generated), "whsec_%s", hex);
		e->secret = xstrdup(generated);
		sodium_memzero(hex, sizeof(hex));
		sodium_memzero(generated, sizeof(generated));
	}
	if (events)
		e->events = mask;
	if (active_given || create)
		e->active = active;
	return true;
}

/* The answer of a create or an update, and what an Idempotency-Key keeps of it (without the
 * secret: API.md 6). */
static void answer_webhook(struct call *c, int status, const struct webhook_endpoint *e,
			   bool show_secret)
{
	struct jw w;
	call_json(c, status, &w);
	view_webhook(&w, e, show_secret);
	struct buf kept;
	buf_init(&kept);
	jw_init(&w, &kept);
	view_webhook(&w, e, false);
	free(c->idem_answer);
	c->idem_answer = buf_steal(&kept, NULL);
}

static enum store_rc webhook_create_tx(struct call *c, void *ctx)
{
	struct webhook_endpoint *e = ctx;
	enum store_rc rc = STORE(c->db, webhook_create, e, &e->id);
	if (rc == STORE_OK)
		answer_webhook(c, 201, e, true);
	return rc;
}

void webhooks_create(struct call *c)
{
	struct webhook_endpoint e = {.merchant_id = c->who.merchant_id, .created_ms = now_ms()};
	bool secret_set;
	if (parse_webhook(c, &e, true, &secret_set))
		call_write_tx(c, webhook_create_tx, &e);
	if (e.secret)
		sodium_memzero(e.secret, strlen(e.secret));
	webhook_endpoint_clear(&e);
}

static void not_found(struct call *c)
{
	call_error(c, 404, "not_found", "webhook endpoint %lld not found",
		   (long long)c->path_id[0]);
}

static enum store_rc webhook_update_tx(struct call *c, void *ctx)
{
	(void)ctx;
	struct webhook_endpoint e = {0};
	bool secret_set = false;
	enum store_rc rc = STORE(c->db, webhook_get, c->who.merchant_id, c->path_id[0], &e);
	if (rc == STORE_NOT_FOUND)
		not_found(c);
	if (rc != STORE_OK)
		goto cleanup;
	if (!parse_webhook(c, &e, false, &secret_set)) {
		rc = STORE_NOT_FOUND; /* answered: roll back */
		goto cleanup;
	}
	rc = STORE(c->db, webhook_update, &e);
	if (rc == STORE_NOT_FOUND)
		not_found(c);
	if (rc == STORE_OK)
		answer_webhook(c, 200, &e, secret_set);
cleanup:
	webhook_endpoint_clear(&e);
	return rc;
}

void webhook_update(struct call *c)
{
	call_write_tx(c, webhook_update_tx, NULL);
}

static enum store_rc webhook_delete_tx(struct call *c, void *ctx)
{
	(void)ctx;
	enum store_rc rc = STORE(c->db, webhook_delete, c->who.merchant_id, c->path_id[0]);
	if (rc == STORE_NOT_FOUND)
		not_found(c);
	if (rc == STORE_OK) {
		c->resp->status = 204;
		buf_reset(&c->resp->body);
	}
	return rc;
}

void webhook_delete(struct call *c)
{
	call_write_tx(c, webhook_delete_tx, NULL);
}

/* ---- the delivery log ---- */

/* Attempts shown per delivery: the latest. */
#define ATTEMPTS_SHOWN 20

static const char *const status_names[] = {"pending", "delivered", "failed"};

struct log_ctx {
	struct call *c;
	struct jw *w;
	enum store_rc rc;
};

static bool write_attempt(void *ctx, const struct webhook_attempt *a)
{
	struct jw *w = ctx;
	jw_obj_begin(w);
	jw_kint(w, "at", a->at_ms);
	if (a->http_status >= 0)
		jw_kint(w, "status", a->http_status);
	else
		jw_knull(w, "status");
	jw_kstr(w, "error", a->error);
	jw_kint(w, "latencyMs", a->latency_ms);
	jw_obj_end(w);
	return true;
}

static bool write_delivery(void *ctx, const struct webhook_delivery *d)
{
	struct log_ctx *l = ctx;
	struct jw *w = l->w;
	jw_obj_begin(w);
	jw_kint(w, "id", d->id);
	jw_kstr(w, "eventId", d->event_id);
	jw_kstr(w, "eventType", event_type_name(d->type));
	jw_kstr(w, "status", status_names[d->status <= WEBHOOK_FAILED ? d->status : 0]);
	jw_kint(w, "attempts", d->attempts);
	if (d->status == WEBHOOK_PENDING)
		jw_kint(w, "nextAttemptAt", d->next_ms);
	else
		jw_knull(w, "nextAttemptAt");
	if (d->last_status >= 0)
		jw_kint(w, "lastStatus", d->last_status);
	else
		jw_knull(w, "lastStatus");
	jw_kstr(w, "lastError", d->last_error);
	jw_kint(w, "createdAt", d->created_ms);
	jw_key(w, "log");
	jw_arr_begin(w);
	/* The connection is inside a read of the deliveries: attempts are read on the same one
	 * after it (SQLite and PostgreSQL both allow a second statement meanwhile). */
	l->rc = STORE(l->c->db, webhook_attempts, d->id, ATTEMPTS_SHOWN, write_attempt, w);
	jw_arr_end(w);
	jw_obj_end(w);
	return l->rc == STORE_OK;
}

void webhook_deliveries_get(struct call *c)
{
	int64_t offset, limit;
	if (!query_paging(c, &offset, &limit))
		return;
	if (limit > 100)
		limit = 100;
	struct webhook_endpoint e = {0};
	enum store_rc rc = STORE(c->db, webhook_get, c->who.merchant_id, c->path_id[0], &e);
	webhook_endpoint_clear(&e);
	if (rc == STORE_NOT_FOUND) {
		not_found(c);
		return;
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	struct log_ctx l = {.c = c, .w = &w};
	jw_arr_begin(&w);
	rc = STORE(c->db, webhook_deliveries, c->who.merchant_id, c->path_id[0], offset, limit,
		   write_delivery, &l);
	if (rc == STORE_OK)
		rc = l.rc;
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	jw_arr_end(&w);
}

static enum store_rc redeliver_tx(struct call *c, void *ctx)
{
	(void)ctx;
	int64_t n = 0;
	enum store_rc rc =
	    STORE(c->db, event_redeliver, c->who.merchant_id, c->ref_token, now_ms(), &n);
	if (rc == STORE_NOT_FOUND)
		call_error(c, 404, "not_found", "no such event of this merchant");
	if (rc == STORE_OK) {
		struct jw w;
		call_json(c, 202, &w);
		jw_obj_begin(&w);
		jw_kstr(&w, "eventId", c->ref_token);
		jw_kint(&w, "deliveries", n);
		jw_obj_end(&w);
	}
	return rc;
}

void webhook_redeliver(struct call *c)
{
	call_write_tx(c, redeliver_tx, NULL);
}
