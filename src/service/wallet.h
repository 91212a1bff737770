/* Apple Wallet passes (issue 15): the signer, loaded once at start-up from the --wallet-*
 * settings, and the .pkpass of a customer's card built from what the card page shows. A pass
 * is a ZIP (domain/zip.c) of pass.json, icon.png, logo.png, manifest.json (the SHA-1 of every
 * other file) and signature (a detached PKCS#7 signature of manifest.json by the Pass Type ID
 * certificate, Apple's WWDR intermediate included). A pass that updates itself carries the
 * PassKit web service's URL (handlers/passkit.c) and its authenticationToken; the pushes that
 * tell devices a pass changed are service/cardupdates.c's. */
#ifndef KOPILKA_SERVICE_WALLET_H
#define KOPILKA_SERVICE_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

/* The Pass Type ID, the Team ID, the certificate, its key and the WWDR certificate. Read-only
 * once loaded: request threads sign with it at once. */
struct wallet_signer;

enum wallet_load_rc {
	WALLET_OFF = 0, /* none of the five settings is set: no passes */
	WALLET_ON,	/* *out holds the signer */
	WALLET_BAD,	/* err says which setting is wrong and why */
};

/* Loads the signer of cfg's --wallet-* settings: all five set, or none. Checks that each file
 * reads as PEM of its kind (a certificate, an unencrypted private key) and that the key is the
 * certificate's. On WALLET_BAD err (err_len bytes) names the setting and the rule. Free *out
 * with wallet_signer_free. */
enum wallet_load_rc wallet_signer_load(const struct config *cfg, struct wallet_signer **out,
				       char *err, size_t err_len) MUST_CHECK;
void wallet_signer_free(struct wallet_signer *s);

/* What the pass shows of one customer's card. Strings are borrowed. */
struct wallet_card {
	int64_t merchant_id, client_id;
	const char *organization; /* the merchant's name */
	const char *token;	  /* the client's token: the barcode the cashier scans */
	const char *card_url;	  /* the card page, on the back of the pass */
	const char *points;	  /* the balances as the API prints them ("94.5", "0") */
	const char *rubles;
	int64_t coupons;	   /* usable coupons */
	unsigned char rgb[3];	   /* the brand colour: the pass's background */
	bool light;		   /* the colour is light: black text on it, else white */
	const unsigned char *logo; /* the merchant's PNG logo, NULL: the default coin */
	size_t logo_len;
	/* The PassKit web service's base URL (webServiceURL), NULL: a pass that never updates.
	 * Its authenticationToken is wallet_auth_token of `token`. */
	const char *web_service_url;
};

/* The pass's authenticationToken: 64 lowercase hex digits, the SHA-256 of a fixed prefix and
 * the client's token. Whoever holds the card's link can download the pass and read it anyway,
 * so it guards nothing the link does not; it needs no secret of the server and no row, and
 * changes with the client's token. out: WALLET_AUTH_TOKEN_MAX bytes. */
#define WALLET_AUTH_TOKEN_MAX 65
void wallet_auth_token(const char *client_token, char out[WALLET_AUTH_TOKEN_MAX]);
/* Whether given (NULL: none) is client_token's authenticationToken, compared in constant time. */
bool wallet_auth_ok(const char *client_token, const char *given);

/* The pass's serialNumber: "<merchant id>-<client id>", stable for the client's life and
 * unique under one Pass Type ID (docs/CARD.md says why not the token). out: WALLET_SERIAL_MAX. */
#define WALLET_SERIAL_MAX 48
void wallet_serial(int64_t merchant_id, int64_t client_id, char out[WALLET_SERIAL_MAX]);

/* The .pkpass of card, signed by s: the archive's bytes (the caller frees them) and their
 * length in *len_out; NULL when signing failed (logged) or memory ran out. */
unsigned char *wallet_pass(const struct wallet_signer *s, const struct wallet_card *card,
			   size_t *len_out) MUST_CHECK;

#endif
