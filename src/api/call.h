/* One API call as handlers see it: the request, the response being built, the caller's
 * identity, the path parameters, the parsed body and a borrowed database connection; and the
 * one place that turns an error into the JSON error body of API.md section 1. */
#ifndef KOPILKA_API_CALL_H
#define KOPILKA_API_CALL_H

#include "api/api.h"
#include "core/jw.h"
#include "service/outcome.h"

struct who {
	int64_t account_id, merchant_id;
	enum role role;
	enum account_kind kind;
	int64_t cred_version; /* the account's when its credential was verified */
};

struct call {
	struct app *app;
	struct request *req;
	struct response *resp;
	struct store_conn *db;
	struct who who;
	int64_t path_id[3]; /* the {id} segments of the route, in order */
	int n_path_ids;
	char ref_token[40]; /* the {ref} segment when it is a token (path_id is then 0), or
			       {eventId} */
	const char *file;   /* the {file} segment of the route, pointing into the path */
	json_t *body;	    /* parsed JSON object of a POST/PUT, or NULL */
	/* The text of body's real numbers, so body_fixed reads money from what the client wrote
	 * rather than from jansson's double (call_index_reals); NULL when none. */
	struct body_reals *reals;
	bool dry_run;	/* call_write_tx rolls back even a success: nothing is stored */
	bool committed; /* set by call_write_tx when fn's effects were committed (not replayed) */
	/* What an Idempotency-Key is compared by when the body is not JSON (c->body NULL): the
	 * uploaded file, so a retry with another multipart boundary is the same request. */
	const void *idem_payload;
	size_t idem_payload_len;
	/* Set by a tx_fn whose success shows a secret (a new API key): the text an
	 * Idempotency-Key keeps and replays instead of the answer sent, so no stored answer holds
	 * the secret (API.md 6). Owned; call_write_tx frees it. */
	char *idem_answer;
};

/* Fills the response with the error body: status, reason phrase, message, path, timestamp and
 * the stable code. message is printf-formatted. Replaces any body written before. */
void call_error(struct call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The error for a storage failure that is not the caller's fault: 503 when the database is
 * busy, full or read-only (retry later), 500 otherwise. Never reveals internals. */
void call_store_error(struct call *c, enum store_rc rc);

/* The one place a workflow's outcome (service/outcome.h) becomes HTTP. OK: returns STORE_OK
 * and leaves the answer to the caller. A refusal: writes its error (OUTCOME_INVALID 400,
 * NOT_FOUND 404, CONFLICT 409) and returns STORE_NOT_FOUND, so that a write transaction rolls
 * back keeping that answer (STORE_OK when the outcome keeps its writes: they commit with it). A
 * storage failure: returns its rc (call_write_tx answers it). */
enum store_rc call_outcome(struct call *c, const struct outcome *o);

/* Starts a JSON response with this status and returns a writer on its body. */
void call_json(struct call *c, int status, struct jw *w);

/* Records the text of every real number (one written with a fraction or an exponent) of the
 * JSON text that c->body was just parsed from, paired with its json_t in document order, so
 * body_fixed reads it exactly. Call once after parsing; call_free_reals releases it. */
void call_index_reals(struct call *c, const char *text, size_t len);
void call_free_reals(struct call *c);

/* Validation helpers for JSON request bodies. Each reads obj[key]; `name` is the field's full
 * path used in messages ("order.items[0].price"). A missing key or JSON null counts as absent:
 * then *present is false (when present is not NULL) and out keeps its default. On a bad value
 * they write the 400 error and return false. */
/* body_money and body_fixed read a real number from its text in the body (call_index_reals), so
 * 1.0000000000000000001 is refused for its fraction digits instead of being taken as 1. */
bool body_money(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		bool allow_negative, money_t *out, bool *present) MUST_CHECK;
bool body_fixed(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		int digits, int64_t min, int64_t max, int64_t *out, bool *present) MUST_CHECK;
bool body_int(struct call *c, json_t *obj, const char *key, const char *name, bool required,
	      int64_t min, int64_t max, int64_t *out, bool *present) MUST_CHECK;
bool body_bool(struct call *c, json_t *obj, const char *key, const char *name, bool required,
	       bool *out, bool *present) MUST_CHECK;
/* A string of min_chars..max_chars code points; *out points into obj (valid while it is). */
bool body_string(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		 size_t min_chars, size_t max_chars, const char **out) MUST_CHECK;
/* A phone (a JSON string) normalized to digits into out
 * (PHONE_MAX_DIGITS+1 bytes); an empty string counts as absent. */
bool body_phone(struct call *c, json_t *obj, const char *key, const char *name, char *out,
		bool *present) MUST_CHECK;
/* An email trimmed and shape-checked into out (EMAIL_MAX+1 bytes), case kept; an empty string
 * counts as absent. */
bool body_email(struct call *c, json_t *obj, const char *key, const char *name, char *out,
		bool *present) MUST_CHECK;
/* The value must be an object or array (type_name "object"/"array"); *out borrowed. */
bool body_object(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		 json_t **out) MUST_CHECK;
bool body_array(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		json_t **out) MUST_CHECK;

/* An identifier the POS chose (an order number): a string of 1 to max_chars characters, or a
 * JSON integer taken as its decimal text, copied into out (cap bytes; "" when absent). */
bool body_text_id(struct call *c, json_t *obj, const char *key, const char *name, bool required,
		  size_t max_chars, char *out, size_t cap) MUST_CHECK;

/* arr (borrowed; NULL: absent, then *n_out is 0) as at most max distinct positive ids into ids;
 * `what` names one element in messages ("coupon"). */
bool body_ids(struct call *c, json_t *arr, const char *name, const char *what, size_t max,
	      int64_t *ids, size_t *n_out) MUST_CHECK;

/* A non-negative integer query parameter key, or def when it is absent; else a 400 naming it. */
bool query_int(struct call *c, const char *key, int64_t def, int64_t *out) MUST_CHECK;
/* Query parameters: offset (default 0) and limit (default 50, clamped to 1000). */
bool query_paging(struct call *c, int64_t *offset, int64_t *limit) MUST_CHECK;

/* Runs fn inside a write transaction, retrying it (a bounded number of times) when storage
 * answers STORE_RETRY. fn returns STORE_OK to commit (to roll back with its answer kept when
 * c->dry_run is set); anything else rolls back. When fn has
 * not written a response for a failure, a storage error response is written. c->committed
 * tells afterwards whether fn's effects were committed (false for a replayed answer). */
typedef enum store_rc (*tx_fn)(struct call *c, void *ctx);
void call_write_tx(struct call *c, tx_fn fn, void *ctx);
/* The same for a write that locks the rows it reads to decide (store.h, STORE_TX_ROWS): on
 * PostgreSQL it runs beside other such writes. fn locks the client(s) or order it concerns
 * before reading their state; the Idempotency-Key is locked here. */
void call_write_tx_rows(struct call *c, tx_fn fn, void *ctx);

#endif
