/* The outbox of webhook events (see events.h). */
#include "service/events.h"

#include <stdio.h>
#include <string.h>

#include "core/jw.h"
#include "core/util.h"
#include "service/cardupdates.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "service/views.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/webhooks.h"

static char public_url[512] = "http://127.0.0.1:8080";

void events_set_public_url(const char *url)
{
	snprintf(public_url, sizeof(public_url), "%s", url);
}

/* Whether the merchant has an active endpoint subscribed to type. */
static enum store_rc wanted(struct store_conn *db, int64_t merchant_id, enum event_type type,
			    bool *yes)
{
	int64_t mask = 0;
	enum store_rc rc = STORE(db, webhook_mask, merchant_id, &mask);
	*yes = rc == STORE_OK && (mask & EVENT_MASK(type));
	return rc;
}

/* Writes the event whose data is the JSON text in data (taken: freed here). */
static enum store_rc write_event(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				 enum event_type type, int64_t now, struct buf *data)
{
	struct webhook_event ev = {.merchant_id = merchant_id,
				   .client_id = client_id,
				   .type = (int)type,
				   .created_ms = now};
	char hex[33];
	random_hex(hex, 16);
	snprintf(ev.public_id, sizeof(ev.public_id), "evt_%s", hex);
	buf_putc(data, '\0');
	ev.data = data->data;
	enum store_rc rc = STORE(db, event_create, &ev);
	buf_free(data);
	return rc;
}

enum store_rc event_client(struct store_conn *db, enum event_type type, const struct client *cl,
			   int64_t now)
{
	bool yes;
	enum store_rc rc = wanted(db, cl->merchant_id, type, &yes);
	if (rc != STORE_OK || !yes)
		return rc;
	struct buf b;
	struct jw w;
	buf_init(&b);
	jw_init(&w, &b);
	view_client(&w, cl, public_url);
	return write_event(db, cl->merchant_id, cl->id, type, now, &b);
}

enum store_rc event_order(struct store_conn *db, const struct order *o, int64_t now)
{
	bool yes;
	enum store_rc rc = wanted(db, o->merchant_id, EVENT_ORDER_CREATED, &yes);
	if (rc != STORE_OK || !yes)
		return rc;
	struct client cl = {0};
	struct account emp = {0};
	bool has_client =
	    o->client_id && STORE(db, client_get, o->merchant_id, o->client_id, &cl) == STORE_OK;
	bool has_emp = o->created_by && STORE(db, account_self, o->created_by, &emp) == STORE_OK &&
		       emp.kind == ACCOUNT_EMPLOYEE;
	struct buf b;
	struct jw w;
	buf_init(&b);
	jw_init(&w, &b);
	view_order(&w, o, has_client ? &cl : NULL, has_emp ? &emp : NULL, public_url);
	client_clear(&cl);
	account_clear(&emp);
	return write_event(db, o->merchant_id, o->client_id, EVENT_ORDER_CREATED, now, &b);
}

enum store_rc event_balance(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    int64_t now)
{
	bool yes;
	enum store_rc rc = wanted(db, merchant_id, EVENT_BALANCE_CHANGED, &yes);
	if (rc != STORE_OK || !yes || client_id == 0)
		return rc;
	money_t available[CURRENCY_COUNT];
	for (int cur = 0; cur < CURRENCY_COUNT && rc == STORE_OK; cur++)
		rc = ledger_available(db, client_id, (enum currency)cur, now, &available[cur]);
	if (rc != STORE_OK)
		return rc;
	struct buf b;
	struct jw w;
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kint(&w, "clientId", client_id);
	jw_key(&w, "balance");
	view_balance(&w, available);
	jw_obj_end(&w);
	return write_event(db, merchant_id, client_id, EVENT_BALANCE_CHANGED, now, &b);
}

enum store_rc event_hold(struct store_conn *db, enum event_type type, const struct hold *h,
			 int64_t now)
{
	bool yes;
	enum store_rc rc = wanted(db, h->merchant_id, type, &yes);
	if (rc != STORE_OK || !yes)
		return rc;
	int64_t ids[HOLD_COUPONS_MAX];
	size_t n = 0;
	rc = STORE(db, coupons_of_order, h->id, 2, ids, HOLD_COUPONS_MAX, &n);
	if (rc != STORE_OK)
		return rc;
	struct buf b;
	struct jw w;
	buf_init(&b);
	jw_init(&w, &b);
	view_hold(&w, h, now, ids, n);
	return write_event(db, h->merchant_id, h->client_id, type, now, &b);
}

enum store_rc event_coupons(struct store_conn *db, enum event_type type, int64_t merchant_id,
			    const int64_t *ids, size_t n, int64_t now)
{
	if (n == 0)
		return STORE_OK;
	enum store_rc rc = STORE_OK;
	/* A coupon issued, redeemed or returned changes the client's pass too. */
	for (size_t i = 0; card_updates_on() && rc == STORE_OK && i < n; i++) {
		struct coupon_instance ci = {0};
		rc = STORE(db, coupon_get, merchant_id, ids[i], &ci);
		if (rc == STORE_OK)
			rc = card_update_note(db, merchant_id, ci.client_id, now);
		coupon_instance_clear(&ci);
	}
	if (rc != STORE_OK)
		return rc;
	bool yes;
	rc = wanted(db, merchant_id, type, &yes);
	for (size_t i = 0; rc == STORE_OK && yes && i < n; i++) {
		struct coupon_instance ci = {0};
		rc = STORE(db, coupon_get, merchant_id, ids[i], &ci);
		if (rc == STORE_OK) {
			struct buf b;
			struct jw w;
			buf_init(&b);
			jw_init(&w, &b);
			jw_obj_begin(&w);
			jw_kint(&w, "clientId", ci.client_id);
			jw_key(&w, "coupon");
			view_coupon_instance(&w, &ci);
			jw_obj_end(&w);
			rc = write_event(db, merchant_id, ci.client_id, type, now, &b);
		}
		coupon_instance_clear(&ci);
	}
	return rc;
}

enum store_rc event_coupon(struct store_conn *db, enum event_type type, int64_t merchant_id,
			   int64_t instance_id, int64_t now)
{
	return event_coupons(db, type, merchant_id, &instance_id, 1, now);
}

enum store_rc event_points_expiring(struct store_conn *db, const struct lot *l, int64_t now)
{
	struct buf b;
	struct jw w;
	buf_init(&b);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kint(&w, "clientId", l->client_id);
	jw_kint(&w, "lotId", l->id);
	jw_kmoney(&w, "amount", l->remaining_minor);
	jw_kstr(&w, "currency", currency_name(l->currency));
	jw_kint(&w, "expiresAt", l->expires_ms);
	jw_obj_end(&w);
	return write_event(db, l->merchant_id, l->client_id, EVENT_POINTS_EXPIRING, now, &b);
}
