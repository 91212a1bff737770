/* Issuing coupon instances from the catalog with fresh random tokens and 6-digit codes, and
 * making a redeemed one usable again (a refunded sale). */
#ifndef KOPILKA_SERVICE_COUPONS_H
#define KOPILKA_SERVICE_COUPONS_H

#include "service/outcome.h"
#include "store/store.h"

/* True when the catalog coupon may be issued at now (not deleted, validUntil not passed). */
bool coupon_issuable(const struct catalog_coupon *cc, int64_t now);

/* Issues cc to a client; order_id (0: none) is the sale that issued it. Its expiry is the
 * earlier of now + validDays and validUntil. Draws new codes while they collide. */
enum store_rc coupon_issue_new(struct store_conn *db, const struct catalog_coupon *cc,
			       int64_t client_id, int64_t order_id, int64_t now,
			       int64_t *id_out) MUST_CHECK;

/* The first of ids (the caller's instance ids) that is not a usable coupon of the client at
 * now (issued, not expired, of this merchant), as its index in *bad_out (-1: all usable). */
enum store_rc coupons_check_usable(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				   const int64_t *ids, size_t n, int64_t now,
				   ptrdiff_t *bad_out) MUST_CHECK;

/* The rule of every redeem (an order's coupons, a hold, a write-off): each of ids is a usable
 * coupon of the client; else 400 coupon_not_active naming field[i]. */
bool coupons_require_usable(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    const char *field, const int64_t *ids, size_t n, int64_t now,
			    struct outcome *o) MUST_CHECK;

/* Makes a redeemed instance usable again, with new codes if its old ones were taken. */
enum store_rc coupon_reactivate(struct store_conn *db, int64_t instance_id) MUST_CHECK;

/* Issues catalog coupon coupon_id to the merchant's client (POST /clients/{id}/coupons/):
 * 404 when there is no such client, 400 coupon_not_issuable when the coupon does not exist,
 * is deleted or has expired. *ci: the instance issued (the caller clears it). */
bool coupon_issue_to(struct store_conn *db, int64_t merchant_id, int64_t client_id,
		     int64_t coupon_id, int64_t now, struct coupon_instance *ci,
		     struct outcome *o) MUST_CHECK;

struct share_request {
	int64_t merchant_id;
	const char *token; /* a shareToken, or (code) a merchantShareToken */
	bool code;
	const char *phone, *email, *name; /* the friend; phone or email not NULL */
};

/* A friend redeems a coupon shared with them (API.md 4.5): one extra instance per original,
 * issued to the friend (found, or registered when the program allows). Refused: 404 for no
 * usable coupon with that token, 409 coupon_not_shareable for an instance itself received
 * through a share, 409 share_redeemed when another friend took it, 400 for the owner's own
 * share or a catalog coupon no longer issuable. The same friend again gets the same instance.
 * *friend and *given: for the answer (the caller clears them). */
bool coupon_share_accept(struct store_conn *db, const struct share_request *r, int64_t now,
			 struct client *friend, struct coupon_instance *given,
			 struct outcome *o) MUST_CHECK;

#endif
