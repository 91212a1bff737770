/* The JSON shapes of API objects, written once and shared by every handler that returns them
 * and by the webhook events (service/events.c), whose data are the same shapes. */
#ifndef KOPILKA_SERVICE_VIEWS_H
#define KOPILKA_SERVICE_VIEWS_H

#include <jansson.h>

#include "core/jw.h"
#include "domain/model.h"

/* Client of API.md 2.1, with [ext] cardURL: public_url (the --public-url setting; "" makes
 * the link relative) and /c/{token}, the customer's card page. An erased client (erased_ms
 * set) shows null personal fields, token and cardURL, and "erased": true with "erasedAt". */
void view_client(struct jw *w, const struct client *cl, const char *public_url);
/* Coupon instance of API.md 2.2 (absent texts omitted, expireDate omitted when none). */
void view_coupon_instance(struct jw *w, const struct coupon_instance *ci);
/* Catalog coupon of API.md 4.4. */
void view_catalog_coupon(struct jw *w, const struct catalog_coupon *cc);
/* Balance of API.md 2.3: both currencies, in order, from available[currency]. */
void view_balance(struct jw *w, const money_t available[CURRENCY_COUNT]);
/* {"client": Client, "coupons": coupon instance} of API.md 4.1 and 4.5. */
void view_client_coupon(struct jw *w, const struct client *cl, const struct coupon_instance *ci,
			const char *public_url);
/* Loyalty settings of API.md 4.4. */
void view_settings(struct jw *w, const struct loyalty_settings *s);

/* Employee of API.md 6 (never the password). */
void view_employee(struct jw *w, const struct account *a);

/* An order's reaction by number (1..3): "positive", "neutral", "negative"; [0] NULL. */
extern const char *const view_reaction_names[4];

/* Order of API.md 2.4 (GET /fiscal/orders/{id}/): cl its customer and emp the employee who
 * posted it, NULL when none; public_url the base of its receipt link. */
void view_order(struct jw *w, const struct order *o, const struct client *cl,
		const struct account *emp, const char *public_url);
/* Hold of API.md 4.3 with its status at now and the coupons it reserved or redeemed. */
void view_hold(struct jw *w, const struct hold *h, int64_t now, const int64_t *coupon_ids,
	       size_t n_coupons);

/* Ledger row of API.md 2.3's history (GET /clients/{id}/balance/history/). */
void view_ledger_entry(struct jw *w, const struct ledger_entry *e);
/* Order item of GET /fiscal/orders/{id}/items/. */
void view_order_item(struct jw *w, const struct order_item *it);

/* Nulls, in any JSON these views wrote (at any depth, but never inside "employee" or "items"),
 * every key that holds the customer's personal data or a token of their card or coupons: what an
 * erasure leaves of a stored answer or webhook event. view_scrub_personal_text does it to
 * JSON text: a new string (free it), or NULL when text is not JSON. */
void view_scrub_personal(json_t *v);
char *view_scrub_personal_text(const char *text);

#endif
