/* Pass updates (issue 15): the durable queue of "this client's card changed" and the worker
 * that tells the client's devices. A balance or coupon change of a client whose pass a device
 * registered (handlers/passkit.c) queues one card_updates row (coalesced per client) in the
 * change's own transaction (card_update_note), so a crash loses no update. The worker claims
 * due rows under a lease and sends, per channel, what makes the wallet fetch the new card:
 * Apple's (an empty APNs push per registered device, push_apple) and Google's (the balance of
 * the saved LoyaltyObject set through Google Wallet's API, push_google). It holds no transaction
 * while it waits on the network. */
#ifndef KOPILKA_SERVICE_CARDUPDATES_H
#define KOPILKA_SERVICE_CARDUPDATES_H

#include <stdbool.h>
#include <stdint.h>

#include "http/gwallet_api.h"
#include "store/store.h"

/* Turns card_update_note on (a pass with a web service is issued: --wallet-* set) or off
 * (the default: no statement at all is added to a change). Once, at start-up. */
void card_updates_enable(bool on);
/* Whether it is on (a caller may skip reading what it would note). */
bool card_updates_on(void);

/* In the transaction of a change of client_id's balance or coupons: queues the update of its
 * pass when a device is registered for it (one statement), nothing when updates are off or
 * client_id is 0. */
enum store_rc card_update_note(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			       int64_t now) MUST_CHECK;

/* How many rounds an update is tried before it is given up (also bounded by a day). */
#define CARD_UPDATE_ATTEMPTS_MAX 20
#define CARD_UPDATE_WINDOW_MS (24LL * 3600 * 1000)

struct card_update_worker_config {
	int64_t period_ms;     /* the wait when nothing was due */
	int64_t retry_base_ms; /* the first retry's wait (domain/webhook.h: webhook_backoff_ms) */
	int64_t timeout_ms;    /* one push's deadline */
	const char *apns_url;  /* https://api.push.apple.com, or http:// (h2c) for tests */
	const char *cert_file; /* the pass certificate and key: APNs's certificate auth */
	const char *key_file;
	struct gwallet_api *google; /* Google Wallet's API (saved cards' balances); NULL: off */
};

/* The registration a customer following the card's "Save to Google Wallet" link gets
 * (handlers/card.c), beside the Apple devices of pass_registrations: its device id and pass
 * type are both this, no Apple pass type can be (they start with "pass."). The worker sets
 * the balance of that client's Google object on each of its updates. */
#define CARD_UPDATES_GOOGLE "google-wallet"

struct card_update_worker;

/* Starts the worker on st; cfg's strings must outlive it. NULL when the thread could not
 * start (logged). */
struct card_update_worker *card_update_worker_start(struct store *st,
						    const struct card_update_worker_config *cfg);
/* Stops it (a push in flight finishes first, within its timeout) and frees it. NULL: no-op. */
void card_update_worker_stop(struct card_update_worker *w);

#endif
