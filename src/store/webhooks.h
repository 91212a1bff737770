/* Storage operations of webhook endpoints, the event outbox and its deliveries, written once in
 * store/sql_webhooks.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_WEBHOOKS_H
#define KOPILKA_STORE_WEBHOOKS_H

#include "store/store.h"

/* A merchant's webhook endpoint (issue 16). */
struct webhook_endpoint {
	int64_t id, merchant_id;
	char *url, *secret; /* owned */
	int64_t events;	    /* a mask of EVENT_MASK(enum event_type) */
	bool active;
	int64_t created_ms;
};
void webhook_endpoint_clear(struct webhook_endpoint *e);

/* An event of the outbox, as written: data is borrowed JSON text. */
struct webhook_event {
	int64_t id, merchant_id, client_id; /* client_id 0: not a client's event */
	char public_id[40];		    /* "evt_" and 32 hex digits */
	int type;			    /* enum event_type */
	int64_t created_ms;
	const char *data;
};

/* A delivery claimed by the worker, with what it sends; strings owned (webhook_job_clear). */
struct webhook_job {
	int64_t id, attempts, first_ms;
	char *url, *secret, *data;
	char event_id[40];
	int type;
	int64_t event_ms;
};
void webhook_job_clear(struct webhook_job *j);

/* A delivery's state. */
enum webhook_status { WEBHOOK_PENDING = 0, WEBHOOK_DELIVERED = 1, WEBHOOK_FAILED = 2 };

/* A row of an endpoint's delivery log; last_error owned. */
struct webhook_delivery {
	int64_t id, attempts, next_ms, created_ms;
	char event_id[40];
	int type;
	enum webhook_status status;
	int64_t last_status; /* the last answer's HTTP status; -1: none */
	char *last_error;    /* the last attempt's error when it got no answer; NULL: none */
};
/* One attempt of a delivery; error borrowed during the row callback. */
struct webhook_attempt {
	int64_t at_ms, http_status, latency_ms; /* http_status -1: no answer */
	const char *error;
};
typedef bool (*webhook_row_fn)(void *ctx, const struct webhook_endpoint *e);
typedef bool (*webhook_job_fn)(void *ctx, struct webhook_job *j);
typedef bool (*webhook_delivery_fn)(void *ctx, const struct webhook_delivery *d);
typedef bool (*webhook_attempt_fn)(void *ctx, const struct webhook_attempt *a);
/* An event of the outbox as stored (data borrowed during the callback). */
typedef bool (*webhook_event_fn)(void *ctx, const struct webhook_event *ev);

/* The outbox's events that name the client, by id (the export and the erasure). */
enum store_rc store_client_events(struct store_conn *c, int64_t merchant_id, int64_t client_id,
				  webhook_event_fn row, void *ctx) MUST_CHECK;
/* Replaces an event's data (the erasure's scrubbed copy). */
enum store_rc store_event_set_data(struct store_conn *c, int64_t id, const char *data) MUST_CHECK;
/* Webhook endpoints (issue 16), of a merchant. create: *id_out set. update: url, secret,
 * events and active of e->id; NOT_FOUND when not the merchant's. delete: the endpoint with
 * its deliveries and their attempts; NOT_FOUND when not the merchant's. */
enum store_rc store_webhook_create(struct store_conn *c, const struct webhook_endpoint *e,
				   int64_t *id_out) MUST_CHECK;
enum store_rc store_webhook_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct webhook_endpoint *out) MUST_CHECK;
enum store_rc store_webhooks_list(struct store_conn *c, int64_t merchant_id, webhook_row_fn row,
				  void *ctx) MUST_CHECK;
enum store_rc store_webhook_update(struct store_conn *c,
				   const struct webhook_endpoint *e) MUST_CHECK;
enum store_rc store_webhook_delete(struct store_conn *c, int64_t merchant_id,
				   int64_t id) MUST_CHECK;
/* The union of the event masks of the merchant's active endpoints (0: none). */
enum store_rc store_webhook_mask(struct store_conn *c, int64_t merchant_id,
				 int64_t *mask_out) MUST_CHECK;
/* The outbox: writes ev (ev->id set) and one pending delivery, due at ev->created_ms, per
 * active endpoint of its merchant subscribed to its type. */
enum store_rc store_event_create(struct store_conn *c, struct webhook_event *ev) MUST_CHECK;
/* Sets every delivery of the merchant's event public_id pending again, due now, with a
 * new retry window; *n_out: how many. NOT_FOUND when there is no such event. */
enum store_rc store_event_redeliver(struct store_conn *c, int64_t merchant_id,
				    const char *public_id, int64_t now, int64_t *n_out) MUST_CHECK;
/* Claims at most max due deliveries under a lease (token, until lease_until) that no
 * other claim holds, none of them behind a pending earlier event of its client for its
 * endpoint, and calls row for each (the job is the callee's to clear). Run it in a write
 * transaction: the lease is what keeps another node from the same delivery. */
enum store_rc store_webhook_claim(struct store_conn *c, int64_t now, int64_t lease_until,
				  const char *token, size_t max, webhook_job_fn row,
				  void *ctx) MUST_CHECK;
/* Records an attempt of a delivery claimed with token: its state after it (status,
 * next_ms), the answer's HTTP status (-1: none) or the error, the latency; the lease
 * ends. NOT_FOUND when the lease was lost (redelivered meanwhile): the attempt is still
 * logged. */
enum store_rc store_webhook_record(struct store_conn *c, int64_t delivery_id, const char *token,
				   enum webhook_status status, int64_t next_ms, int64_t http_status,
				   const char *error, int64_t latency_ms, int64_t now) MUST_CHECK;
/* An endpoint's deliveries, newest first, paged. */
enum store_rc store_webhook_deliveries(struct store_conn *c, int64_t merchant_id,
				       int64_t endpoint_id, int64_t offset, int64_t limit,
				       webhook_delivery_fn row, void *ctx) MUST_CHECK;
/* A delivery's latest attempts, newest first, at most max. */
enum store_rc store_webhook_attempts(struct store_conn *c, int64_t delivery_id, int64_t max,
				     webhook_attempt_fn row, void *ctx) MUST_CHECK;

#endif
