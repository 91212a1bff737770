/* Orders (API.md 2.4 and 3): a sale that spends, redeems and accrues; a refund that reverses a
 * share of its sale; a customer's reaction to an order afterwards. Each runs in the caller's
 * write transaction (STORE_TX_ROWS) and keeps the ledger invariant of API.md 3.1. No HTTP here:
 * the caller parses the request into the plain structs below and renders the result. */
#ifndef KOPILKA_SERVICE_ORDERS_H
#define KOPILKA_SERVICE_ORDERS_H

#include "domain/text.h"
#include "service/outcome.h"
#include "store/store.h"

/* Limits of one order, in items, coupons and characters (of UTF-8 text: 4 bytes each). */
#define ORDER_ITEMS_MAX 1000
#define ORDER_COUPONS_MAX 100
#define ORDER_EXTERNAL_ID_MAX 64
#define ORDER_PRODUCT_ID_MAX 64
#define ORDER_FD_MAX 64
/* The fiscal sign (ФП) of a receipt: a 32-bit number, at most 10 decimal digits. */
#define ORDER_FP_MAX 10
/* Hex SHA-256 of a request (order_request_digest), kept with its order as request_hash. */
#define ORDER_HASH_LEN (32 * 2 + 1)
/* Coupons a sale issues: the accrual rule's one. */
#define ORDER_ISSUED_MAX 1

/* One item of a receipt, checked in shape by the caller (quantities > 0 but a refund's 0,
 * totals within 10^12). Strings are borrowed. */
struct order_item_request {
	const char *name; /* NULL in a refund item in kopilka's form */
	money_t price_minor;
	int64_t qty_milli;	/* 0 in a refund item: what remains of the sale item */
	const char *unit;	/* "piece", "kg", "g", "L" or "ml" */
	int64_t vat_hundredths; /* -1: not given */
	int64_t sale_item_id;	/* a refund item in kopilka's form: the sale's item it reverses */
	/* The POS's product id (the seed's items.Id); "": none. */
	char product_id[ORDER_PRODUCT_ID_MAX * 4 + 1];
};

/* A sale or a refund as the POS posted it. Two requests are the same order when everything
 * below but the caller's identity is equal (a digest of it is kept with the order). */
struct order_request {
	int64_t merchant_id, account_id; /* who posts it */
	/* A cashier's post (API.md 4.2): an order another account posted under the same
	 * externalId is neither replayed nor described to them. */
	bool only_own_orders;

	char external_id[ORDER_EXTERNAL_ID_MAX * 4 + 1];
	bool refund; /* receiptType */
	money_t card_minor, cash_minor;
	const char *fn, *fd, *comment; /* borrowed; NULL: absent */
	const char *fp;		       /* the fiscal sign: 1 to 10 digits; NULL: absent */
	int64_t external_date_ms;      /* 0: not given */
	/* Borrowed: n_items of them, 1 to ORDER_ITEMS_MAX. */
	const struct order_item_request *items;
	size_t n_items;

	/* A sale's: the customer (phone or email; neither: anonymous, which spends nothing) and
	 * what it pays with points and coupons. */
	char phone[PHONE_MAX_DIGITS + 1], email[EMAIL_MAX + 1];
	bool has_phone, has_email;
	money_t amount_minor; /* points spent, in currency */
	int currency;	      /* -1: the program's */
	int64_t coupons[ORDER_COUPONS_MAX];
	size_t n_coupons;

	/* A refund's: its items name the sale's items by id (kopilka's form), or are written like
	 * sale items and the sale is the one with this externalId (the seed's form, API.md 3.3;
	 * one refund per externalId and fd). */
	bool seed_form;
	/* Items listed as orderItems (POST /fiscal_hub/cash_back/refund/): a refusal names the
	 * item by its id there. */
	bool hub;

	/* The request's digest (order_request_digest), "" until it is taken: order_sale and
	 * order_refund take it themselves then. */
	char hash[ORDER_HASH_LEN];
};

/* Takes the digest of a complete request into r->hash: the caller does it before the write
 * transaction so that its ~36k instructions (text and SHA-256) are not spent inside it, with
 * the writer lock held. */
void order_request_digest(struct order_request *r);

/* What a sale or refund did, for the answer. */
struct order_result {
	/* The order was posted before with the same contents: `order` is it, its `response` the
	 * answer kept for it; nothing else is set and nothing was written. */
	bool replayed;
	struct order order; /* the order made: a refund's accrued and spent are what it took back
			       and returned (positive) */
	struct order_item *items; /* heap, n_items of them */
	size_t n_items;
	int64_t redeemed[ORDER_COUPONS_MAX], issued[ORDER_ISSUED_MAX]; /* coupon instance ids */
	size_t n_redeemed, n_issued;
};
void order_result_clear(struct order_result *res);

/* Posts a sale: finds (or, when the program says so, registers) the customer, releases their
 * expired holds, spends amount from their lots, redeems the coupons, accrues by the program's
 * rule for a new or a returning customer (domain/loyalty.h: on what was paid, else on the
 * item total less the points spent) when the program is active, issues the rule's coupon, and
 * adds to the customer's statistics. The answer is the caller's to render and keep with the
 * order (order_set_response, in the same transaction): a retry with the same contents replays
 * it (res->replayed), and an order without a kept answer is refused as order_conflict.
 * Refused (o->keep_writes false: the caller rolls back):
 *   409 order_conflict naming order.externalId: a sale with it exists with other contents, or
 *       another account's when only_own_orders;
 *   404 unknown_customer naming order.customerPhone: no such customer and no auto-register;
 *   400 insufficient_funds naming amount: more than the customer can spend now;
 *   400 spend_limit naming amount: more than the program's share of the item total;
 *   400 coupon_not_active naming coupons[i]: not a usable coupon of the customer.
 * A concurrent post of the same sale is STORE_RETRY (storage): run again, it replays.
 * The caller clears *res whatever the answer. */
bool order_sale(struct store_conn *db, const struct order_request *r, int64_t now,
		struct order_result *res, struct outcome *o) MUST_CHECK;

/* Posts a refund of (part of) a sale, in either form: takes the quantities from the sale's
 * lines, then reverses the refund's share (refunded item total over the sale's, cumulative so
 * partial refunds add up exactly) of what the sale accrued (taken back, as debt when spent),
 * spent (returned to the lots it came from) and was paid; once every line is refunded by
 * quantity, the coupons the sale redeemed are usable again and those it issued, unused, are
 * revoked. The answer is the caller's to keep, as for order_sale.
 * Refused (the caller rolls back):
 *   409 order_conflict naming order.externalId as order_sale; in the seed's form, naming
 *       order.fd: a refund of that sale with that fd exists with other contents;
 *   404 not_found naming order.externalId: the seed's form names no sale;
 *   400 item_not_refundable naming order.items[i].id (orderItems when hub): no such sale
 *       item, items of two sales, an item listed twice, an item refunded already;
 *   400 item_not_refundable naming order.items[i] (the seed's form): no line, or two lines
 *       that differ, match it;
 *   400 item_not_refundable naming order.items[i].quantity: more than remains of the line.
 * The caller clears *res whatever the answer. */
bool order_refund(struct store_conn *db, const struct order_request *r, int64_t now,
		  struct order_result *res, struct outcome *o) MUST_CHECK;

/* Records reaction (1 positive, 2 neutral, 3 negative) and comment on order o as read; the
 * client's review counts follow it (a changed reaction moves from one count to the other). An
 * erased client's order keeps the reaction but not the comment (personal text). */
enum store_rc order_react(struct store_conn *db, const struct order *o, int reaction,
			  const char *comment) MUST_CHECK;

#endif
