/* The transactional outbox of webhook events (issue 16): each workflow writes its events in
 * its own write transaction, so an event commits with its change or not at all. An event is
 * written only when the merchant has an active endpoint subscribed to its type (one indexed
 * read otherwise: a merchant without webhooks pays nothing more), with one delivery per such
 * endpoint, which the delivery worker (service/webhooks.h) sends. Its data is the JSON shape
 * the API answers with for the object (service/views.h). */
#ifndef KOPILKA_SERVICE_EVENTS_H
#define KOPILKA_SERVICE_EVENTS_H

#include "domain/webhook.h"
#include "store/store.h"

/* The base of receipt links in order.created (the API's --public-url); set once at start-up,
 * before any event is written. Default "http://127.0.0.1:8080". */
void events_set_public_url(const char *public_url);

/* client.created / client.updated: data is the client (API.md 2.1). */
enum store_rc event_client(struct store_conn *db, enum event_type type, const struct client *cl,
			   int64_t now) MUST_CHECK;
/* order.created: data is the order as GET /fiscal/orders/{id}/ answers it (a refund too). */
enum store_rc event_order(struct store_conn *db, const struct order *o, int64_t now) MUST_CHECK;
/* balance.changed: data is {"clientId", "balance": the answer of GET
 * /clients/{id}/balance/ at now}. */
enum store_rc event_balance(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    int64_t now) MUST_CHECK;
/* hold.*: data is the hold as the hold calls answer it, its status at now. */
enum store_rc event_hold(struct store_conn *db, enum event_type type, const struct hold *h,
			 int64_t now) MUST_CHECK;
/* coupon.issued / coupon.redeemed: data is {"clientId", "coupon": the coupon instance}. */
enum store_rc event_coupon(struct store_conn *db, enum event_type type, int64_t merchant_id,
			   int64_t instance_id, int64_t now) MUST_CHECK;
/* The same for several instances (ids of an order or a hold). */
enum store_rc event_coupons(struct store_conn *db, enum event_type type, int64_t merchant_id,
			    const int64_t *ids, size_t n, int64_t now) MUST_CHECK;
/* points.expiring: data is {"clientId", "lotId", "amount", "currency", "expiresAt"}. */
enum store_rc event_points_expiring(struct store_conn *db, const struct lot *l,
				    int64_t now) MUST_CHECK;

#endif
