/* libkopilka: the C client of the kopilka loyalty API (docs/LIBKOPILKA.md), for point-of-sale
 * software. One handle per server and credential; calls that retry safely (same externalId and
 * Idempotency-Key on every attempt) and an optional offline outbox that keeps orders on disk
 * until the server has acknowledged them.
 *
 * Conventions of every call:
 * - It returns an enum kopilka_status (KOPILKA_OK is 0) that must not be ignored, and fills the
 *   struct kopilka_error given (which may be NULL when the caller does not want the detail).
 *   The library never aborts the process: bad arguments are KOPILKA_ERR_INVALID, out of memory
 *   is KOPILKA_ERR_NOMEM.
 * - Blocking: every call that talks to the server blocks the calling thread until an answer,
 *   or until the retry budget (struct kopilka_config) is spent. kopilka_create,
 *   kopilka_destroy and the kopilka_money_* helpers never touch the network.
 * - Ownership: a json_t ** OUT parameter receives a new reference the caller owns and releases
 *   with json_decref(); it is set to NULL on failure (and for an answer without a body). Strings
 *   given to a call are copied before it returns; the library keeps no pointer to them.
 * - Thread safety: one handle may be used by many threads at once. Each call uses its own
 *   connection state; the outbox is serialized by a mutex inside the handle. kopilka_destroy
 *   must not run concurrently with any other call on the same handle.
 * - Money is never a floating-point number here: amounts given to the library are decimal
 *   strings ("100.5", "12.34", at most 2 fraction digits) written to the wire as JSON numbers
 *   digit for digit; amounts read back are integer minor units (kopecks), see
 *   kopilka_money_from_json(). */
#ifndef KOPILKA_H
#define KOPILKA_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define KOPILKA_MUST_CHECK __attribute__((warn_unused_result))
#define KOPILKA_API __attribute__((visibility("default")))
#else
#define KOPILKA_MUST_CHECK
#define KOPILKA_API
#endif

#define KOPILKA_VERSION_MAJOR 0
#define KOPILKA_VERSION_MINOR 1
#define KOPILKA_VERSION_PATCH 0

/* What a call did. Every failure also fills struct kopilka_error. */
enum kopilka_status {
	KOPILKA_OK = 0,
	/* The order is stored in the outbox but the server has not acknowledged it yet (it was
	 * unreachable or answered 5xx/429 until the retry budget ran out). It is not lost:
	 * kopilka_outbox_flush() sends it later with the same keys. */
	KOPILKA_QUEUED,
	KOPILKA_ERR_INVALID,  /* a bad argument or configuration; nothing was sent */
	KOPILKA_ERR_NOMEM,    /* out of memory */
	KOPILKA_ERR_NETWORK,  /* no answer: connection refused, reset, DNS, TLS, timeout */
	KOPILKA_ERR_HTTP,     /* the server answered 4xx/5xx: see http_status, code, message */
	KOPILKA_ERR_PROTOCOL, /* the answer is not what the API promises (not JSON, too big) */
	KOPILKA_ERR_OUTBOX,   /* the outbox file cannot be opened, read or written */
};

#define KOPILKA_ERROR_CODE_MAX 64
#define KOPILKA_ERROR_MESSAGE_MAX 512

/* The detail of a failure; all fields are cleared on success. Plain arrays: nothing to free. */
struct kopilka_error {
	enum kopilka_status status;
	int http_status; /* the HTTP status of the last answer, 0 when there was none */
	/* The API's machine-readable "code" (insufficient_funds, order_conflict, ...), or "" */
	char code[KOPILKA_ERROR_CODE_MAX];
	char message[KOPILKA_ERROR_MESSAGE_MAX]; /* the server's "message" or the library's */
	/* 1 when the same call may succeed later unchanged (network errors, 408, 429, 5xx);
	 * 0 for a refusal that will not change (a business rule, validation, auth). */
	int retryable;
	long retry_after_ms; /* the server's Retry-After, in ms, or 0 */
	int attempts;	     /* how many HTTP attempts the call made */
};

/* Connection settings. Fill with kopilka_config_init() first, then set what differs. */
struct kopilka_config {
	const char *base_url;	 /* the server's root, e.g. "https://loyalty.example:8080" */
	const char *login;	 /* the account's email or phone */
	const char *password;	 /* its password or one of its API keys (kpk_<id>_<secret>) */
	long connect_timeout_ms; /* per attempt; default 5000 */
	long request_timeout_ms; /* per attempt, the whole exchange; default 15000 */
	int max_attempts;	 /* attempts of one call, the first included; default 5 */
	long backoff_initial_ms; /* the first pause between attempts; default 200 */
	long backoff_max_ms;	 /* the longest pause; default 5000 */
	/* The whole time a call may spend retrying: no new attempt starts after it and no pause
	 * runs past it (a Retry-After longer than what is left ends the call); default 30000. */
	long retry_budget_ms;
	/* The outbox: a SQLite file the orders go through (NULL: none, orders are sent directly).
	 * One process at a time may hold it open (kopilka_create fails with KOPILKA_ERR_OUTBOX
	 * while another holds it). */
	const char *outbox_path;
	const char *user_agent; /* default "libkopilka/<version>" */
	int verify_tls;		/* 1 (default): check the server's certificate and name */
};

/* The opaque handle. */
typedef struct kopilka kopilka;

KOPILKA_API void kopilka_config_init(struct kopilka_config *config);

/* Makes a handle from the config (copied: the caller may free its strings afterwards). With
 * an outbox_path, opens or creates the outbox file. On success *out is a handle the caller
 * releases with kopilka_destroy(); on failure *out is NULL. Does not contact the server. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_create(const struct kopilka_config *config, kopilka **out, struct kopilka_error *err);

/* Releases the handle and closes the outbox (pending orders stay in the file). NULL is a no-op. */
KOPILKA_API void kopilka_destroy(kopilka *h);

/* A short English word for a status ("ok", "network", ...); a static string. */
KOPILKA_API const char *kopilka_status_name(enum kopilka_status status);

/* The library's version, "0.1.0"; a static string. */
KOPILKA_API const char *kopilka_version(void);

/* Any API call. method: "GET", "POST", "PUT", "DELETE". path: relative to /ext/api/v1
 * ("/clients/1/balance/") unless it starts with "/ext/" (taken as is); a query string may
 * follow, already URL-encoded. json_body: the request body as JSON text, or NULL; it is sent
 * byte for byte (not re-serialized), so money written "10.10" stays 10.10. idempotency_key:
 * for POST and PUT, the Idempotency-Key header; NULL makes one per call (the same on each of
 * its retries). *answer: the parsed JSON answer of a 2xx (NULL when the body is empty). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_request(kopilka *h, const char *method, const char *path, const char *json_body,
		const char *idempotency_key, json_t **answer, struct kopilka_error *err);

/* ---- Clients ---- */

/* Clients found by exact phone (any notation), by email, or by the client's 32-hex token
 * (exactly one of the three non-NULL; phone and email may contain % as a wildcard).
 * *clients: a JSON array of Client objects (possibly empty). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_client_find(kopilka *h, const char *phone, const char *email, const char *token,
		    json_t **clients, struct kopilka_error *err);

/* One client by id. Unknown: KOPILKA_ERR_HTTP with http_status 404. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_client_get(kopilka *h, int64_t client_id, json_t **client, struct kopilka_error *err);

/* A new client; NULL fields are left out (phone or email is needed). 409 when the phone or
 * email is taken. idempotency_key: as kopilka_request. */
struct kopilka_new_client {
	const char *phone;
	const char *email;
	const char *name;
};
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_client_create(kopilka *h, const struct kopilka_new_client *client,
		      const char *idempotency_key, json_t **created, struct kopilka_error *err);

/* ---- Balance ---- */

struct kopilka_balance {
	int64_t points_minor; /* available points, in hundredths (the API prints 2 digits) */
	int64_t rubles_minor; /* available rubles, in kopecks */
};
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_balance(kopilka *h, int64_t client_id,
								   struct kopilka_balance *balance,
								   struct kopilka_error *err);

/* ---- Coupons ---- */

/* The client's usable coupon instances (a JSON array). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_client_coupons(kopilka *h, int64_t client_id, json_t **coupons, struct kopilka_error *err);

/* A scanned coupon: type "linked" (token), "shared" (shareToken) or "merchant" (a 6-digit
 * code). *found: {"client": Client, "coupons": Coupon instance}. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_coupon_find(kopilka *h, const char *type,
								       const char *token,
								       json_t **found,
								       struct kopilka_error *err);

/* Issues catalog coupon coupon_id to the client (a manager's or owner's call). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_coupon_issue(kopilka *h, int64_t client_id, int64_t coupon_id, const char *idempotency_key,
		     json_t **instance, struct kopilka_error *err);

/* ---- Orders ----
 * Every order goes through kopilka_order_post(); the kopilka_*_post helpers below only write
 * its body. Without an outbox the order is sent at once (retried safely). With an outbox it is
 * first made durable in the outbox file, then the outbox is sent in order up to it:
 * - KOPILKA_OK: the server acknowledged it; *answer is the order (when answer is not NULL).
 * - KOPILKA_QUEUED: stored, not yet acknowledged (err says why); kopilka_outbox_flush() later.
 * - KOPILKA_ERR_HTTP: the server refused it for good (a business rule or validation, err says
 *   which); the outbox entry is marked failed and will not be sent again.
 * - other errors: it was not stored (a bad body, the outbox file failed). */

/* body: a whole order body as JSON text ({"order": {"externalId", "receiptType", ...}, ...},
 * API.md 2.4), sent as written. order.externalId is required: it is what makes retries safe. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_order_post(kopilka *h, const char *body,
								      const char *idempotency_key,
								      json_t **answer,
								      struct kopilka_error *err);

/* A sale or seed-form refund line. price and quantity are decimal strings ("250", "0.5"). */
struct kopilka_item {
	const char *name;
	const char *price;
	const char *quantity;	/* NULL: 1 */
	const char *product_id; /* the POS's product id (the seed's items.Id), or NULL */
};

struct kopilka_sale {
	const char *external_id;    /* the POS's receipt number, required */
	const char *customer_phone; /* the customer (phone, else email), or both NULL: anonymous */
	const char *customer_email;
	const char *amount_card; /* money paid, decimal strings, or NULL */
	const char *amount_cash;
	const struct kopilka_item *items;
	size_t n_items;
	const char *spend_amount;   /* points to spend, or NULL */
	const char *spend_currency; /* "points" or "rubles", or NULL: the program's */
	const int64_t *coupon_ids;  /* coupon instances to redeem */
	size_t n_coupons;
};
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_sale_post(kopilka *h, const struct kopilka_sale *sale, const char *idempotency_key,
		  json_t **answer, struct kopilka_error *err);

/* A refund in kopilka's form: its own new external_id and the sale's item ids (from the
 * sale's answer); quantity NULL refunds the whole line. */
struct kopilka_refund_line {
	int64_t item_id;
	const char *quantity;
};
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_refund_post(kopilka *h, const char *external_id, const struct kopilka_refund_line *lines,
		    size_t n_lines, const char *idempotency_key, json_t **answer,
		    struct kopilka_error *err);

/* A refund in the seed's form: the sale's own external id, its lines written like sale items,
 * fd the refund receipt's fiscal document number (NULL allowed for one refund per sale). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_refund_seed_post(kopilka *h, const char *sale_external_id, const char *fd,
			 const struct kopilka_item *items, size_t n_items,
			 const char *idempotency_key, json_t **answer, struct kopilka_error *err);

/* ---- Holds (two-phase spend) ---- */

/* Reserves amount (a decimal string) of currency ("points"/"rubles") and the coupons.
 * *hold: the hold, with its "transactionId" to write off or cancel. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_hold_create(kopilka *h, int64_t client_id, const char *currency, const char *amount,
		    const int64_t *coupon_ids, size_t n_coupons, const char *idempotency_key,
		    json_t **hold, struct kopilka_error *err);
/* Makes the hold final for the POS's order fiscal_order_id (may be NULL). Repeating is OK. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_hold_write_off(kopilka *h, const char *transaction_id, const char *fiscal_order_id,
		       json_t **answer, struct kopilka_error *err);
/* Gives the hold back. Repeating is OK; a written-off hold is 409 hold_not_active. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_hold_cancel(kopilka *h,
								       const char *transaction_id,
								       json_t **answer,
								       struct kopilka_error *err);

/* ---- Settings ---- */

/* The loyalty program (GET /loyalty/settings/). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_settings_get(kopilka *h, json_t **settings, struct kopilka_error *err);

/* ---- The outbox ---- */

struct kopilka_outbox_counts {
	int64_t pending; /* stored, not yet acknowledged */
	int64_t sent;	 /* acknowledged by the server */
	int64_t failed;	 /* refused for good; see the entries */
};

/* Sends the pending entries in order, each with the retry budget of the config. Stops at the
 * first that cannot be sent now (KOPILKA_QUEUED, err says why); an entry refused for good is
 * marked failed and the flush goes on with the next. KOPILKA_OK when nothing is left pending.
 * Without an outbox: KOPILKA_ERR_INVALID. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_outbox_flush(kopilka *h,
									struct kopilka_error *err);

/* The counts, and when entries is not NULL a JSON array of the entries not sent, oldest first:
 * {"seq", "externalId", "receiptType", "state": "pending"|"failed", "attempts",
 *  "createdAt" (ms), "httpStatus", "code", "message"} (the last error, null when none). */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status
kopilka_outbox_status(kopilka *h, struct kopilka_outbox_counts *counts, json_t **entries,
		      struct kopilka_error *err);

/* ---- Money ---- */

#define KOPILKA_MONEY_TEXT_MAX 32

/* Minor units (hundredths) from a JSON number of the API (at most 2 fraction digits, |x| <=
 * 10^12): exact for every value the server prints. KOPILKA_ERR_PROTOCOL for anything else. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_money_from_json(const json_t *value,
									   int64_t *minor);
/* Minor units from a decimal string ("12", "12.3", "-0.05"); KOPILKA_ERR_INVALID otherwise. */
KOPILKA_API KOPILKA_MUST_CHECK enum kopilka_status kopilka_money_parse(const char *text,
								       int64_t *minor);
/* Writes minor units as the API prints them ("12.3", "10", "-0.05") into text, which holds
 * KOPILKA_MONEY_TEXT_MAX bytes; returns text. */
KOPILKA_API char *kopilka_money_format(int64_t minor, char text[KOPILKA_MONEY_TEXT_MAX]);

/* ---- JSON text ---- */

/* JSON text of an answer in which every number the API sent prints as the server wrote it
 * ("100.1", not jansson's default "100.09999999999999"): reals with 15 significant digits,
 * enough for any money or quantity of the API. pretty: indented by 2. The caller frees the
 * text with free(); NULL when out of memory. */
KOPILKA_API char *kopilka_json_dumps(const json_t *value, int pretty);

#ifdef __cplusplus
}
#endif

#endif
