/* The webhook delivery worker (see webhooks.h).
 *
 * A round: claim up to CLAIM_MAX due deliveries under a lease in one short write transaction,
 * send each (no transaction open), then record the round's attempts in one short write
 * transaction: two writes a round, not one a delivery, so that under an orders load (whose
 * writes the worker's queue behind) deliveries keep pace (bench/README.md, webhooks).
 * The lease outlives the round (each claimed attempt to its timeout), so another node skips
 * what this one is sending; a node killed mid-round leaves leases that run out, and its deliveries
 * are sent again: at least once, deduplicable by the event id. A delivery waits while an earlier
 * event of the same client is pending for the same endpoint (the claim's condition), so a
 * client's events arrive in order.
 *
 * Every transaction of the worker is a row writer (STORE_TX_ROWS): on PostgreSQL a
 * STORE_TX_WRITE takes the table-wide write lock, which would wait for a sale waiting on a
 * client's row and make every other sale queue behind it (tests/api/test_pg_rows.py). What
 * the worker writes is decided by its statements' own conditions (a claim updates only rows
 * still unleased when it reaches them; a record only rows still under its token), which
 * PostgreSQL re-checks on the row it locks, so READ COMMITTED suffices. */
#include "service/webhooks.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "core/worker.h"
#include "domain/webhook.h"
#include "http/outbound.h"
#include "service/events.h"
#include "store/ledger.h"
#include "store/webhooks.h"

#define CLAIM_MAX 16
/* Lots noticed per scan, and how often the scan runs. */
#define EXPIRING_BATCH 100
#define EXPIRING_EVERY_MS 10000
/* Attempts to record an outcome when storage answers RETRY. */
#define RECORD_TRIES 5

struct webhook_worker {
	struct store *store;
	struct webhook_worker_config cfg;
	struct worker thread; /* the polling thread, told to stop at shutdown */
};

void webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char hex[65])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

struct claimed {
	struct webhook_job jobs[CLAIM_MAX];
	size_t n;
};

static bool collect_job(void *ctx, struct webhook_job *j)
{
	struct claimed *cl = ctx;
	if (cl->n == CLAIM_MAX) {
		webhook_job_clear(j);
		return false;
	}
	cl->jobs[cl->n++] = *j;
	return true;
}

/* Claims the due deliveries into *out under token. */
static enum store_rc claim(struct webhook_worker *w, const char *token, struct claimed *out)
{
	struct store_conn *db = w->store->ops->acquire(w->store);
	int64_t now = now_ms();
	/* Longer than the round can take: every claimed attempt to its timeout. */
	int64_t lease_until = now + (CLAIM_MAX + 1) * w->cfg.timeout_ms + 5000;
	enum store_rc rc = STORE(db, begin, STORE_TX_ROWS);
	if (rc == STORE_OK)
		rc = STORE(db, webhook_claim, now, lease_until, token, CLAIM_MAX, collect_job, out);
	/* Nothing due changed nothing: an idle poll ends without a commit (on SQLite a commit is
	 * a WAL sync, once a period for nothing). */
	if (rc == STORE_OK && out->n == 0) {
		db->ops->rollback(db);
		w->store->ops->release(db);
		return STORE_OK;
	}
	if (rc == STORE_OK)
		rc = STORE(db, commit);
	if (rc != STORE_OK) {
		db->ops->rollback(db);
		for (size_t i = 0; i < out->n; i++)
			webhook_job_clear(&out->jobs[i]);
		out->n = 0;
	}
	w->store->ops->release(db);
	return rc;
}

/* The event as it is POSTed: {"id", "type", "createdAt", "data"}. */
static char *event_body(const struct webhook_job *j, size_t *len)
{
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "{\"id\":\"%s\",\"type\":\"%s\",\"createdAt\":%lld,\"data\":%s}",
		   j->event_id, event_type_name(j->type), (long long)j->event_ms, j->data);
	return buf_steal(&b, len);
}

/* What one attempt came to, recorded at the round's end. */
struct outcome {
	enum webhook_status status;
	int64_t next_ms; /* the next attempt (pending) */
	int64_t at_ms;
	struct outbound_result res;
};

/* Sends one job; *out: what came of it. */
static void deliver(struct webhook_worker *w, const struct webhook_job *j, struct outcome *out)
{
	size_t len;
	char *body = event_body(j, &len);
	int64_t t = now_ms() / 1000;
	char sig[65], h_sig[128], h_id[80];
	webhook_signature(j->secret, t, body, len, sig);
	snprintf(h_sig, sizeof(h_sig), "Kopilka-Signature: t=%lld,v1=%s", (long long)t, sig);
	snprintf(h_id, sizeof(h_id), "Kopilka-Event-Id: %s", j->event_id);
	const char *headers[] = {"Content-Type: application/json", h_id, h_sig};
	struct outbound_result *res = &out->res;
	outbound_post(j->url, headers, ARRAY_LEN(headers), body, len, w->cfg.timeout_ms,
		      w->cfg.allow_private, res);
	free(body);

	int64_t now = now_ms();
	out->at_ms = now;
	out->status = WEBHOOK_PENDING;
	out->next_ms = 0;
	if (res->status >= 200 && res->status < 300) {
		out->status = WEBHOOK_DELIVERED;
	} else if (now - j->first_ms >= WEBHOOK_RETRY_WINDOW_MS) {
		out->status = WEBHOOK_FAILED;
	} else {
		out->next_ms = now + webhook_backoff_ms(j->attempts + 1, w->cfg.retry_base_ms,
							randombytes_uniform(1000));
	}
	if (out->status == WEBHOOK_DELIVERED)
		log_debug("webhook %s delivered to endpoint of delivery %lld (%ld, %lld ms)",
			  j->event_id, (long long)j->id, res->status, (long long)res->latency_ms);
	else
		log_warn("webhook %s attempt %lld of delivery %lld: %s%s%ld", j->event_id,
			 (long long)j->attempts + 1, (long long)j->id, res->error,
			 res->status ? "HTTP " : "", res->status);
}

/* Records the round's n attempts in one write transaction. */
static void record(struct webhook_worker *w, const char *token, const struct claimed *cl,
		   const struct outcome *out, size_t n)
{
	if (n == 0)
		return;
	struct store_conn *db = w->store->ops->acquire(w->store);
	enum store_rc rc = STORE_RETRY;
	for (int t = 0; t < RECORD_TRIES && rc == STORE_RETRY; t++) {
		rc = STORE(db, begin, STORE_TX_ROWS);
		for (size_t i = 0; i < n && rc == STORE_OK; i++) {
			const struct outbound_result *res = &out[i].res;
			rc = STORE(db, webhook_record, cl->jobs[i].id, token, out[i].status,
				   out[i].next_ms, res->status ? res->status : -1,
				   res->status ? NULL : res->error, res->latency_ms, out[i].at_ms);
			/* Lost lease: redelivered meanwhile; the attempt is logged, the state is
			 * theirs. */
			if (rc == STORE_NOT_FOUND)
				rc = STORE_OK;
		}
		if (rc == STORE_OK)
			rc = STORE(db, commit);
		if (rc != STORE_OK)
			db->ops->rollback(db);
	}
	if (rc != STORE_OK)
		log_warn(
		    "webhooks: could not record a round of %zu attempts; their leases will run "
		    "out and they are sent again",
		    n);
	w->store->ops->release(db);
}

/* points.expiring for the lots expiring within the setting's days, once per lot. */
static void scan_expiring(struct webhook_worker *w)
{
	struct lot lots[EXPIRING_BATCH];
	size_t n = 0;
	struct store_conn *db = w->store->ops->acquire(w->store);
	int64_t now = now_ms();
	enum store_rc rc = STORE(db, begin, STORE_TX_ROWS);
	if (rc == STORE_OK)
		rc = STORE(db, lots_expiring, now, now + w->cfg.expiring_days * 86400000LL,
			   EVENT_MASK(EVENT_POINTS_EXPIRING), lots, EXPIRING_BATCH, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		rc = event_points_expiring(db, &lots[i], now);
		if (rc == STORE_OK)
			rc = STORE(db, lot_notice_add, lots[i].id, now);
	}
	if (rc == STORE_OK && n == 0) {
		db->ops->rollback(db); /* nothing expiring: nothing to commit (as in claim) */
		w->store->ops->release(db);
		return;
	}
	if (rc == STORE_OK)
		rc = STORE(db, commit);
	if (rc != STORE_OK) {
		db->ops->rollback(db);
		log_warn("webhooks: the points.expiring scan failed; will retry");
	}
	w->store->ops->release(db);
}

static void *worker_loop(void *arg)
{
	struct webhook_worker *w = arg;
	int64_t last_scan = 0;
	while (!worker_stopping(&w->thread)) {
		if (now_ms() - last_scan >= EXPIRING_EVERY_MS) {
			scan_expiring(w);
			last_scan = now_ms();
		}
		char token[33];
		random_hex(token, 16);
		struct claimed cl = {.n = 0};
		enum store_rc rc = claim(w, token, &cl);
		struct outcome out[CLAIM_MAX];
		size_t sent = 0;
		/* Stopping: what is not sent keeps its lease, runs out and is sent again. */
		while (sent < cl.n && !worker_stopping(&w->thread)) {
			deliver(w, &cl.jobs[sent], &out[sent]);
			sent++;
		}
		record(w, token, &cl, out, sent);
		for (size_t i = 0; i < cl.n; i++)
			webhook_job_clear(&cl.jobs[i]);
		if (rc != STORE_OK)
			log_warn("webhooks: claiming due deliveries failed; will retry");
		if (cl.n == 0 && worker_wait_ms(&w->thread, w->cfg.period_ms))
			break;
	}
	return NULL;
}

struct webhook_worker *webhook_worker_start(struct store *st,
					    const struct webhook_worker_config *cfg)
{
	struct webhook_worker *w = xcalloc(1, sizeof(*w));
	w->store = st;
	w->cfg = *cfg;
	if (!worker_start(&w->thread, worker_loop, w)) {
		log_error("webhooks: cannot start the delivery worker");
		free(w);
		return NULL;
	}
	return w;
}

void webhook_worker_stop(struct webhook_worker *w)
{
	if (!w)
		return;
	worker_stop(&w->thread);
	free(w);
}
