/* "Save to Google Wallet" links (issue 15): the settings (--gwallet-issuer-id, the service
 * account's key file, --gwallet-origins), checked once at start-up, and the signed link of one
 * customer's loyalty card. The link is https://pay.google.com/gp/v/save/<JWT>: an RS256 JWT
 * signed with the service account's key whose payload holds the merchant's LoyaltyClass and
 * the client's LoyaltyObject, both created by Google when the customer saves the card
 * (docs/CARD.md, "Google Wallet"). Nothing is sent to Google from here: http/gwallet_api.c
 * sends the updates of saved cards, with the token request and the update bodies made here. */
#ifndef KOPILKA_CORE_GWALLET_H
#define KOPILKA_CORE_GWALLET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/util.h"

struct gwallet;

/* Reads the Google Wallet settings of cfg. Not configured (both --gwallet-issuer-id and
 * --gwallet-service-account empty): true, *out NULL. Configured and valid: true, *out the
 * signer (gwallet_free). Else false with a message naming the setting and its rule in err (one
 * line): one setting without the other, an issuer id that is not digits, a key file that
 * cannot be read, is not JSON, lacks client_email, private_key or private_key_id, or whose
 * private_key is not an RSA key in PEM, an origin that is not http(s)://host. */
bool gwallet_load(const struct config *cfg, struct gwallet **out, char *err,
		  size_t err_cap) MUST_CHECK;
void gwallet_free(struct gwallet *g);

/* What one card shows in Google Wallet. Strings are borrowed; NULL: none. */
struct gwallet_card {
	int64_t merchant_id, client_id; /* the stable class and object ids */
	const char *token;		/* the client's token: the barcode the cashier scans */
	const char *issuer_name;	/* the merchant's name (required) */
	const char *program_name;	/* the loyalty programme's name (required) */
	const char *logo_url;		/* an absolute URL of the merchant's logo, or NULL */
	const char *color;		/* "#rrggbb" */
	const char *account_name;	/* the client's name, or NULL */
	const char *points;		/* the balance in points as decimal text ("94.5") */
};

/* The class id "<issuer>.kopilka-m<merchant id>" and the object id
 * "<issuer>.kopilka-m<merchant id>-c<client id>" into out (GWALLET_ID_BYTES): stable, so a
 * card saved again updates the same pass, and not the client's token. */
#define GWALLET_ID_BYTES 96
void gwallet_class_id(const struct gwallet *g, int64_t merchant_id, char out[GWALLET_ID_BYTES]);
void gwallet_object_id(const struct gwallet *g, int64_t merchant_id, int64_t client_id,
		       char out[GWALLET_ID_BYTES]);

/* The save link of card, its JWT issued at iat_s (seconds since the epoch). Heap: the caller
 * frees; NULL when signing failed. */
char *gwallet_save_url(const struct gwallet *g, const struct gwallet_card *card,
		       int64_t iat_s) MUST_CHECK;

/* The assertion of the OAuth 2.0 JWT bearer grant (RFC 7523) by which the service account asks
 * token_url (its "aud") for an access token to the Wallet API (scope wallet_object.issuer),
 * issued at iat_s and valid for an hour. Heap: the caller frees; NULL when signing failed. */
char *gwallet_token_assertion(const struct gwallet *g, const char *token_url,
			      int64_t iat_s) MUST_CHECK;

/* The body of a LoyaltyObject PATCH that sets the card's balance to points (decimal text, as
 * in struct gwallet_card). Heap: the caller frees. */
char *gwallet_points_patch(const char *points) MUST_CHECK;

#endif
