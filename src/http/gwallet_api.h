/* Google Wallet's REST API, for the cards customers saved (issue 15): the balance of a saved
 * LoyaltyObject is set with a PATCH of walletobjects/v1/loyaltyObject/{object id}, authorised
 * by an access token the service account gets from the token endpoint (OAuth 2.0 JWT bearer
 * grant, core/gwallet.c signs the assertion). The token is kept until a minute before it
 * expires, and fetched again when the API answers 401. Both base URLs are settings
 * (--gwallet-api-url, --gwallet-token-url), so tests aim them at local stubs. */
#ifndef KOPILKA_HTTP_GWALLET_API_H
#define KOPILKA_HTTP_GWALLET_API_H

#include <stdint.h>

#include "core/gwallet.h"
#include "http/outbound.h"

struct gwallet_api;

/* A client of the API at api_url ("https://walletobjects.googleapis.com") with tokens from
 * token_url, each request within timeout_ms. g is borrowed and outlives the client. */
struct gwallet_api *gwallet_api_new(const struct gwallet *g, const char *api_url,
				    const char *token_url, int64_t timeout_ms);
void gwallet_api_free(struct gwallet_api *a);

enum gwallet_sent {
	GWALLET_SENT,	   /* the object now shows the balance */
	GWALLET_NOT_SAVED, /* 404: the customer never saved the card (or removed it) */
	GWALLET_RETRY,	   /* no answer, 429, 5xx, or no token: try again later */
	GWALLET_FAILED,	   /* refused (another 4xx): trying again would not help */
};

/* Sets the balance shown by the saved card of client_id of merchant_id to points (decimal
 * text). res: the API's answer (status, error text). Thread-safe; blocks up to two requests'
 * timeouts (three when the token is fetched again). */
enum gwallet_sent gwallet_api_set_points(struct gwallet_api *a, int64_t merchant_id,
					 int64_t client_id, const char *points,
					 struct outbound_result *res);

#endif
