/* The model: the entities of the loyalty program and their enums, as every layer sees them
 * (storage reads and writes them, services decide with them, handlers render them). Strings
 * are heap-allocated and owned by the struct; NULL means unknown/absent. Each struct with
 * strings has a *_clear() that frees them and zeroes it. Amounts are minor units. */
#ifndef KOPILKA_DOMAIN_MODEL_H
#define KOPILKA_DOMAIN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/loyalty.h"
#include "domain/money.h"

enum currency { CUR_POINTS = 0, CUR_RUBLES = 1 };
#define CURRENCY_COUNT 2
const char *currency_name(enum currency c);
/* Returns -1 for an unknown name. */
int currency_parse(const char *name);

enum account_kind { ACCOUNT_MERCHANT = 0, ACCOUNT_EMPLOYEE = 1 };
/* Roles in increasing power; an owner (the merchant account) can do everything. */
enum role { ROLE_CASHIER = 0, ROLE_MANAGER = 1, ROLE_OWNER = 2 };

enum ledger_type {
	LEDGER_ACCRUAL,
	LEDGER_SPEND,
	LEDGER_REFUND_ACCRUAL,
	LEDGER_REFUND_SPEND,
	LEDGER_EXPIRE,
	LEDGER_HOLD,
	LEDGER_RELEASE,
	LEDGER_ADJUST,	/* a manager's manual correction, with its reason */
	LEDGER_OPENING, /* an opening balance brought by a customer import (issue 14) */
};
const char *ledger_type_name(enum ledger_type t);

/* HELD: reserved by an active hold (API.md 4.3); not usable until it is released. */
enum coupon_status { COUPON_ISSUED = 0, COUPON_REDEEMED = 1, COUPON_REVOKED = 2, COUPON_HELD = 3 };

/* A hold's life (API.md 4.3). An ACTIVE hold past its expiry counts as released on every read
 * and is written as EXPIRED (with its `release` ledger row) by the next write that meets it. */
enum hold_status { HOLD_ACTIVE = 0, HOLD_WRITTEN_OFF = 1, HOLD_CANCELLED = 2, HOLD_EXPIRED = 3 };
/* HOLD_TWO_PHASE: POST /fiscal_hub/cash_back/hold/; HOLD_DIRECT: POST
 * /clients/{id}/balance/write_off/, written off as it is made. */
enum hold_kind { HOLD_TWO_PHASE = 0, HOLD_DIRECT = 1 };

struct account {
	int64_t id, merchant_id;
	enum account_kind kind;
	enum role role;
	char *email;	     /* as given, trimmed */
	char *phone;	     /* digits */
	char *password_hash; /* Argon2id string */
	char *first_name, *last_name;
	char *inn;	      /* taxpayer number, digits; NULL: none */
	char staff_login[7];  /* employees: the 6-digit staff number the server assigns */
	int64_t cred_version; /* bumped on every password change */
	int64_t created_ms;
};
void account_clear(struct account *a);

/* An API key: the secret is shown once; only its SHA-256 is stored. */
struct api_key {
	int64_t id, merchant_id, account_id;
	char hash[65];
	int64_t created_ms;
	bool revoked;
};

struct accrual_setting {
	int64_t coupon_id; /* 0: none */
	struct accrual_rule rule;
	int64_t valid_days; /* 0: never expires */
};

struct loyalty_settings {
	bool active;
	enum currency currency;
	struct accrual_setting new_customer, customer;
	bool auto_register;
	int64_t max_spend_percent; /* 1..100 */
};

struct client {
	int64_t id, merchant_id;
	char *email, *phone, *name, *avatar_url;
	char token[33];
	int64_t paid_purchases, total_purchases;
	money_t total_amount_minor, paid_amount_minor;
	int64_t positive_reviews, neutral_reviews, negative_reviews;
	int64_t created_ms;
	/* When the client's personal data was erased (POST /clients/{id}/erase/); 0: never. An
	 * erased client keeps its id, orders and ledger but no phone, email, name or usable
	 * token, and takes no new sales, holds, coupons or adjustments. */
	int64_t erased_ms;
	/* Self-enrolment (issue 15): birthday "YYYY-MM-DD"; the version of the personal-data
	 * consent text the client accepted and when (152-FZ). NULL / 0: none. */
	char *birthday, *consent_version;
	int64_t consent_ms;
};
void client_clear(struct client *c);

/* A pending self-enrolment of the join page (/j/{code}): what the person typed, waiting for the
 * one-time code sent to the phone. token names it in the confirmation form (32 hex); code_hash
 * is the SHA-256 (hex) of "token:code", never the code. client_id: the client it made or found
 * once confirmed (0: not yet). */
struct enrolment {
	int64_t id, merchant_id;
	char token[33], code_hash[65];
	char *phone, *name, *email, *birthday, *consent_version, *addr;
	int64_t attempts, expires_ms, created_ms, client_id;
};
void enrolment_clear(struct enrolment *e);

struct catalog_coupon {
	int64_t id, merchant_id;
	char *title, *header, *sub_header, *short_description, *long_description;
	char *image_path, *style;
	int64_t valid_days;  /* 0: no limit */
	int64_t valid_until; /* ms; 0: no limit */
	bool deleted;
	int64_t created_ms;
};
void catalog_coupon_clear(struct catalog_coupon *c);

/* An issued coupon with the catalog texts it shows. */
struct coupon_instance {
	int64_t id, merchant_id, client_id, coupon_id;
	enum coupon_status status;
	int64_t issued_ms;
	int64_t expires_ms; /* 0: never */
	char token[33], share_token[33], merchant_token[7], merchant_share_token[7];
	int64_t issued_order_id, redeemed_order_id; /* 0: none */
	struct catalog_coupon catalog;		    /* texts only are filled */
};
void coupon_instance_clear(struct coupon_instance *c);

struct lot {
	int64_t id, merchant_id, client_id;
	enum currency currency;
	money_t remaining_minor, original_minor;
	int64_t expires_ms; /* 0: never */
	int64_t order_id;   /* the sale that accrued it; 0: none */
};

struct balance {
	money_t balance_minor; /* sum of the ledger rows = sum of lots - debt */
	money_t debt_minor;    /* points taken back that were no longer there (>= 0) */
	money_t held_minor;    /* reserved by active holds (>= 0) */
};

struct ledger_entry {
	int64_t id; /* set when read back */
	int64_t merchant_id, client_id;
	enum currency currency;
	money_t amount_minor; /* signed */
	enum ledger_type type;
	int64_t order_id, hold_id; /* 0: none */
	int64_t created_ms;
	/* Why (adjust and opening rows); NULL: none. Borrowed: the caller's when written, the
	 * row's while a ledger_list callback runs. */
	const char *reason;
};

struct order {
	int64_t id, merchant_id;
	char *external_id;
	bool refund; /* receiptType */
	int64_t order_number;
	int64_t client_id; /* 0: anonymous */
	int64_t order_date_ms, external_date_ms;
	money_t total_minor, card_minor, cash_minor;
	enum currency spent_currency, accrued_currency;
	money_t spent_minor, accrued_minor;
	int64_t refund_of; /* refunds: the sale; 0 for sales */
	/* Sales: what refunds have reversed so far (cumulative). */
	money_t refunded_total_minor, accrual_taken_minor, spend_returned_minor,
	    paid_refunded_minor;
	bool fully_refunded;
	char *fn, *fd, *comment, *public_token;
	char *fp; /* the fiscal sign (ФП): 1 to 10 digits; NULL: not given */
	/* Refunds in the seed's form (API.md 3.3) are one order per (externalId, fd): "fd:" and
	 * the fd; NULL or "" for sales and kopilka's refunds. Written by order_create only. */
	char *refund_key;
	int reaction;		/* 0: none; 1 positive, 2 neutral, 3 negative */
	char *customer_comment; /* with the reaction */
	char *request_hash;	/* hex digest of the normalized request, for replays */
	char *response;		/* the JSON answered the first time */
	int64_t created_by;	/* account id */
};
void order_clear(struct order *o);

struct order_item {
	int64_t id, order_id, merchant_id;
	int line_no;
	char *name;
	money_t price_minor;
	int64_t qty_milli;
	char unit[8];
	int64_t vat_hundredths; /* -1: not given */
	money_t total_minor;
	int64_t refunded_qty_milli;
	money_t refunded_total_minor;
	int64_t refund_of_item; /* refund items: the sale item; 0 for sale items */
	char *product_id;	/* the POS's product id (the seed's items.Id); NULL: none */
};
void order_item_clear(struct order_item *i);

/* What one spend took from one lot: an order's (order_id) or a hold's (hold_id, then
 * order_id is 0 and returned_minor unused). */
struct lot_take {
	int64_t order_id, hold_id, lot_id;
	money_t taken_minor, returned_minor;
	int64_t lot_expires_ms; /* 0: never */
};

/* A hold, or a direct write-off kept as a hold that was written off at once. */
struct hold {
	int64_t id, merchant_id, client_id;
	enum currency currency;
	money_t amount_minor;
	char transaction_id[37]; /* a UUID, lower-case */
	enum hold_kind kind;
	enum hold_status status;
	int64_t created_ms, expires_ms, ended_ms; /* ended_ms: 0 while active */
	int64_t order_id;			  /* the order it was written off for; 0: none */
	char *fiscal_order_id;			  /* as the POS gave it; NULL: none */
	int64_t created_by;			  /* account id */
};
void hold_clear(struct hold *h);

/* A sale point of a merchant (API.md 4.4). Strings owned; NULL: unknown. */
struct sale_point {
	int64_t id, merchant_id;
	char *region, *city, *address, *phone;
};
void sale_point_clear(struct sale_point *sp);

#endif
