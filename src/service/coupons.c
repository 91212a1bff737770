/* Coupon issuing (see coupons.h). */
#include "service/coupons.h"

#include <string.h>

#include "service/clients.h"
#include "service/events.h"
#include "service/ledger.h"
#include "store/catalog.h"
#include "store/clients.h"
#include "store/coupons.h"
#include "store/merchant.h"

/* Attempts at drawing codes that are free; with a million codes per merchant a collision
 * streak this long means the merchant has almost used them all up. */
#define CODE_ATTEMPTS 32

bool coupon_issuable(const struct catalog_coupon *cc, int64_t now)
{
	return !cc->deleted && (cc->valid_until == 0 || cc->valid_until >= now);
}

static void draw_codes(char code[7], char share_code[7])
{
	do {
		random_digits(code, 6);
		random_digits(share_code, 6);
	} while (strcmp(code, share_code) == 0);
}

enum store_rc coupon_issue_new(struct store_conn *db, const struct catalog_coupon *cc,
			       int64_t client_id, int64_t order_id, int64_t now, int64_t *id_out)
{
	struct coupon_instance ci = {.merchant_id = cc->merchant_id,
				     .client_id = client_id,
				     .coupon_id = cc->id,
				     .issued_ms = now,
				     .issued_order_id = order_id};
	if (cc->valid_days > 0)
		ci.expires_ms = now + cc->valid_days * MS_PER_DAY;
	if (cc->valid_until > 0 && (ci.expires_ms == 0 || cc->valid_until < ci.expires_ms))
		ci.expires_ms = cc->valid_until;
	enum store_rc rc = STORE_CONFLICT;
	for (int i = 0; i < CODE_ATTEMPTS && rc == STORE_CONFLICT; i++) {
		random_hex(ci.token, 16);
		random_hex(ci.share_token, 16);
		draw_codes(ci.merchant_token, ci.merchant_share_token);
		rc = STORE(db, coupon_issue, &ci, id_out);
	}
	if (rc == STORE_OK)
		rc = event_coupon(db, EVENT_COUPON_ISSUED, cc->merchant_id, *id_out, now);
	return rc;
}

enum store_rc coupon_reactivate(struct store_conn *db, int64_t instance_id)
{
	enum store_rc rc = STORE(db, coupon_set_status, instance_id, COUPON_ISSUED, 0);
	for (int i = 0; i < CODE_ATTEMPTS && rc == STORE_CONFLICT; i++) {
		char code[7], share_code[7];
		draw_codes(code, share_code);
		rc = STORE(db, coupon_set_codes, instance_id, code, share_code);
	}
	return rc;
}

enum store_rc coupons_check_usable(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				   const int64_t *ids, size_t n, int64_t now, ptrdiff_t *bad_out)
{
	*bad_out = -1;
	for (size_t i = 0; i < n; i++) {
		struct coupon_instance ci = {0};
		enum store_rc rc = STORE(db, coupon_get, merchant_id, ids[i], &ci);
		bool usable = rc == STORE_OK && ci.client_id == client_id &&
			      ci.status == COUPON_ISSUED &&
			      (ci.expires_ms == 0 || ci.expires_ms >= now);
		coupon_instance_clear(&ci);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND)
			return rc;
		if (!usable) {
			*bad_out = (ptrdiff_t)i;
			return STORE_OK;
		}
	}
	return STORE_OK;
}

bool coupons_require_usable(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    const char *field, const int64_t *ids, size_t n, int64_t now,
			    struct outcome *o)
{
	ptrdiff_t bad = -1;
	if (!outcome_store(o, coupons_check_usable(db, merchant_id, client_id, ids, n, now, &bad)))
		return false;
	if (bad < 0)
		return true;
	return outcome_refuse(o, OUTCOME_INVALID, "coupon_not_active",
			      "%s[%td]: coupon %lld is not an active coupon of this customer",
			      field, bad, (long long)ids[bad]);
}

/* The coupon a share token names, its owner locked and the coupon read again as it is now: two
 * shares of one coupon run one after the other. 404 unless it is usable. */
static bool shared_coupon(struct store_conn *db, const struct share_request *r, int64_t now,
			  struct coupon_instance *ci, struct outcome *o)
{
	int64_t id = 0;
	enum store_rc rc =
	    STORE(db, coupon_find_token, r->merchant_id, r->code ? 2 : 1, r->token, &id);
	if (rc == STORE_OK)
		rc = STORE(db, coupon_get, r->merchant_id, id, ci);
	if (rc == STORE_OK) {
		int64_t owner = ci->client_id;
		coupon_instance_clear(ci);
		rc = STORE(db, client_lock, r->merchant_id, owner, NULL);
		if (rc == STORE_OK)
			rc = STORE(db, coupon_get, r->merchant_id, id, ci);
	}
	/* A 6-digit code must be this coupon's share code, not its own code. */
	if (rc == STORE_OK &&
	    ((r->code && strcmp(ci->merchant_share_token, r->token) != 0) ||
	     ci->status != COUPON_ISSUED || (ci->expires_ms && ci->expires_ms < now)))
		rc = STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
				      "token: no usable coupon with this share token");
	return outcome_store(o, rc);
}

bool coupon_share_accept(struct store_conn *db, const struct share_request *r, int64_t now,
			 struct client *friend, struct coupon_instance *given, struct outcome *o)
{
	const char *friend_field = r->phone ? "phone" : "email";
	struct coupon_instance ci = {0};
	struct catalog_coupon cc = {0};
	struct loyalty_settings s;
	int64_t shared_with = 0, given_id = 0, source_id = 0;
	bool ok = shared_coupon(db, r, now, &ci, o) &&
		  outcome_store(
		      o, STORE(db, coupon_share_get, ci.id, &shared_with, &given_id, &source_id));
	/* One original yields at most one extra instance: a received one cannot be shared again,
	 * or two phones sharing back and forth would multiply a coupon without end. */
	if (ok && source_id)
		ok = outcome_refuse(o, OUTCOME_CONFLICT, "coupon_not_shareable",
				    "token: this coupon was itself received through a share and "
				    "cannot be shared again");
	ok = ok && outcome_store(o, STORE(db, settings_get, r->merchant_id, &s)) &&
	     client_find_or_register(db, r->merchant_id, r->phone, r->email, r->name,
				     s.auto_register, friend_field, friend, o);
	if (ok && friend->id == ci.client_id)
		ok = outcome_refuse(o, OUTCOME_INVALID, "validation_failed",
				    "%s: the coupon's owner cannot redeem its own share",
				    friend_field);
	if (ok && shared_with && shared_with != friend->id)
		ok = outcome_refuse(o, OUTCOME_CONFLICT, "share_redeemed",
				    "token: this share was already redeemed");
	if (ok && !shared_with) { /* else: the same friend again, the same answer */
		ok = outcome_store(o, STORE(db, catalog_get, r->merchant_id, ci.coupon_id, &cc));
		if (ok && !coupon_issuable(&cc, now))
			ok = outcome_refuse(o, OUTCOME_INVALID, "coupon_not_active",
					    "token: the catalog coupon %lld is deleted or past its "
					    "validUntil",
					    (long long)cc.id);
		ok = ok &&
		     outcome_store(o, coupon_issue_new(db, &cc, friend->id, 0, now, &given_id)) &&
		     outcome_store(o,
				   STORE(db, coupon_share_mark, ci.id, friend->id, given_id, now));
	}
	ok = ok && outcome_store(o, STORE(db, coupon_get, r->merchant_id, given_id, given));
	coupon_instance_clear(&ci);
	catalog_coupon_clear(&cc);
	return ok;
}

bool coupon_issue_to(struct store_conn *db, int64_t merchant_id, int64_t client_id,
		     int64_t coupon_id, int64_t now, struct coupon_instance *ci, struct outcome *o)
{
	struct client cl = {0};
	enum store_rc rc = STORE(db, client_get, merchant_id, client_id, &cl);
	bool erased = rc == STORE_OK && !client_refuse_erased(&cl, "id", o);
	client_clear(&cl);
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found", "client %lld not found",
				      (long long)client_id);
	if (erased || !outcome_store(o, rc))
		return false;
	struct catalog_coupon cc = {0};
	rc = STORE(db, catalog_get, merchant_id, coupon_id, &cc);
	int64_t id = 0;
	bool ok;
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && !coupon_issuable(&cc, now)))
		ok = outcome_refuse(
		    o, OUTCOME_INVALID, "coupon_not_issuable",
		    "couponId: coupon %lld does not exist, is deleted or has expired",
		    (long long)coupon_id);
	else
		ok = outcome_store(o, rc) &&
		     outcome_store(o, coupon_issue_new(db, &cc, client_id, 0, now, &id)) &&
		     outcome_store(o, STORE(db, coupon_get, merchant_id, id, ci));
	catalog_coupon_clear(&cc);
	return ok;
}
