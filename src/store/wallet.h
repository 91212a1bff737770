/* Storage operations of Apple Wallet registrations and queued card updates, written once in
 * store/sql_wallet.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_WALLET_H
#define KOPILKA_STORE_WALLET_H

#include "store/store.h"

/* A client's pass update claimed by the card updates worker (service/cardupdates.c). */
struct card_update_job {
	int64_t client_id, merchant_id;
	int64_t updated_ms; /* the pass's update tag */
	int64_t attempts;   /* failed rounds so far */
	int64_t first_ms;   /* when it was queued: the retry window starts there */
};
typedef bool (*card_update_fn)(void *ctx, const struct card_update_job *j);
/* A device registered for a pass; strings borrowed during the callback. */
typedef bool (*pass_device_fn)(void *ctx, const char *device_id, const char *push_token,
			       const char *pass_type_id);
/* A pass a device is registered for, with its update tag (0: never updated). */
typedef bool (*pass_serial_fn)(void *ctx, int64_t merchant_id, int64_t client_id,
			       int64_t updated_ms);

/* Apple Wallet pass updates (issue 15, sql_wallet.c). pass_register: device_id's
 * registration for the pass of client_id under pass_type_id with push_token, *created
 * true when new (false: the push token replaced). pass_unregister: OK whether or not it
 * was there. pass_serials: the device's passes whose tag is above since (-1: all). */
enum store_rc store_pass_register(struct store_conn *c, const char *device_id,
				  const char *pass_type_id, int64_t merchant_id, int64_t client_id,
				  const char *push_token, int64_t now, bool *created) MUST_CHECK;
enum store_rc store_pass_unregister(struct store_conn *c, const char *device_id,
				    const char *pass_type_id, int64_t client_id) MUST_CHECK;
enum store_rc store_pass_serials(struct store_conn *c, const char *device_id,
				 const char *pass_type_id, int64_t since, pass_serial_fn row,
				 void *ctx) MUST_CHECK;
/* The devices registered for client_id's pass. */
enum store_rc store_pass_devices(struct store_conn *c, int64_t client_id, pass_device_fn row,
				 void *ctx) MUST_CHECK;
/* Drops one registration (APNs said the push token is no longer valid). */
enum store_rc store_pass_device_drop(struct store_conn *c, int64_t client_id, const char *device_id,
				     const char *push_token) MUST_CHECK;
/* The pass's update tag; 0 when it never changed since a device registered. */
enum store_rc store_card_update_tag(struct store_conn *c, int64_t client_id,
				    int64_t *tag_out) MUST_CHECK;
/* In the change's transaction: when a device is registered for the client's pass, queues
 * its update (coalesced per client) and moves its tag. Nothing when none is. */
enum store_rc store_card_update_note(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				     int64_t now) MUST_CHECK;
/* Claims at most max due updates under a lease (token, until lease_until) no other claim
 * holds, and calls row for each. In a write transaction, as webhook_claim. */
enum store_rc store_card_updates_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				       const char *token, size_t max, card_update_fn row,
				       void *ctx) MUST_CHECK;
/* Ends a claimed update: done (sent, or given up), or due again at next_ms with one
 * more attempt counted. NOT_FOUND when the lease was lost (a newer change queued it
 * again meanwhile). */
enum store_rc store_card_update_record(struct store_conn *c, int64_t client_id, const char *token,
				       bool done, int64_t next_ms) MUST_CHECK;

#endif
