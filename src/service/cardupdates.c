/* Pass updates: the queue's note and its worker (see cardupdates.h).
 *
 * A round: claim up to CLAIM_MAX due updates under a lease in one short row-writer
 * transaction (STORE_TX_ROWS, as webhooks.c: never the table-wide lock on PostgreSQL; an idle
 * poll rolls back), push each client's devices with no transaction open, then record the
 * round in one short transaction: done, or due again after a backoff with jitter. A device
 * APNs calls unregistered (410) loses its registration. A change while a push is in flight
 * drops the lease (CARD_UPDATE_NOTE), so the update is pushed again after it: the device
 * always ends up fetching a pass at least as new as the last change. */
#include "service/cardupdates.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "core/worker.h"
#include "domain/money.h"
#include "domain/webhook.h"
#include "http/outbound.h"
#include "service/ledger.h"
#include "store/wallet.h"

#define CLAIM_MAX 16
/* Devices pushed per client in a round (a customer with more phones than that is unusual;
 * the rest are pushed at the next change). */
#define DEVICES_MAX 16
#define RECORD_TRIES 5

static atomic_bool enabled;

void card_updates_enable(bool on)
{
	atomic_store(&enabled, on);
}

bool card_updates_on(void)
{
	return atomic_load(&enabled);
}

enum store_rc card_update_note(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			       int64_t now)
{
	if (!atomic_load(&enabled) || client_id == 0)
		return STORE_OK;
	return STORE(db, card_update_note, merchant_id, client_id, now);
}

struct card_update_worker {
	struct store *store;
	struct card_update_worker_config cfg;
	struct worker thread; /* the polling thread, told to stop at shutdown */
};

struct device {
	char *device_id, *push_token, *pass_type_id;
};

/* A claimed update, its devices and what came of pushing them. */
struct job {
	struct card_update_job u;
	struct device devices[DEVICES_MAX];
	size_t n_devices;
	bool gone[DEVICES_MAX]; /* APNs said the token is no longer valid */
	bool failed;		/* some push must be tried again */
	bool google;		/* a Google Wallet card: its balance is set */
	int64_t points;		/* the balance in points when claimed (scaled, for Google) */
};

struct claimed {
	struct job jobs[CLAIM_MAX];
	size_t n;
};

static bool collect_job(void *ctx, const struct card_update_job *u)
{
	struct claimed *cl = ctx;
	if (cl->n == CLAIM_MAX)
		return false;
	memset(&cl->jobs[cl->n], 0, sizeof(cl->jobs[cl->n]));
	cl->jobs[cl->n++].u = *u;
	return true;
}

static bool collect_device(void *ctx, const char *device_id, const char *push_token,
			   const char *pass_type_id)
{
	struct job *j = ctx;
	if (j->n_devices == DEVICES_MAX)
		return false;
	if (strcmp(pass_type_id, CARD_UPDATES_GOOGLE) == 0) {
		j->google = true; /* not a device: no push token, one PATCH */
		return true;
	}
	struct device *d = &j->devices[j->n_devices++];
	d->device_id = xstrdup(device_id);
	d->push_token = xstrdup(push_token);
	d->pass_type_id = xstrdup(pass_type_id);
	return true;
}

static void claimed_clear(struct claimed *cl)
{
	for (size_t i = 0; i < cl->n; i++)
		for (size_t k = 0; k < cl->jobs[i].n_devices; k++) {
			free(cl->jobs[i].devices[k].device_id);
			free(cl->jobs[i].devices[k].push_token);
			free(cl->jobs[i].devices[k].pass_type_id);
		}
	cl->n = 0;
}

/* Claims the due updates into *out under token until *lease_until, with each one's devices. */
static enum store_rc claim(struct card_update_worker *w, const char *token, struct claimed *out,
			   int64_t *lease_until_out)
{
	struct store_conn *db = w->store->ops->acquire(w->store);
	int64_t now = now_ms();
	/* As a webhook round's: a node killed mid-round holds its updates this long. The round
	 * pushes only what fits in it (worker_loop); the rest is claimed again after it. */
	int64_t lease_until = now + (CLAIM_MAX + 1) * w->cfg.timeout_ms + 5000;
	*lease_until_out = lease_until;
	enum store_rc rc = STORE(db, begin, STORE_TX_ROWS);
	if (rc == STORE_OK)
		rc = STORE(db, card_updates_claim, now, lease_until, token, CLAIM_MAX, collect_job,
			   out);
	if (rc == STORE_OK && out->n == 0) {
		/* Nothing due changed nothing: no commit (on SQLite a WAL sync a poll). */
		db->ops->rollback(db);
		w->store->ops->release(db);
		return STORE_OK;
	}
	for (size_t i = 0; i < out->n && rc == STORE_OK; i++) {
		struct job *j = &out->jobs[i];
		rc = STORE(db, pass_devices, j->u.client_id, collect_device, j);
		/* What the Google card will show: the balance as this transaction sees it, after
		 * the change that queued the update (a later change queues it again). */
		if (rc == STORE_OK && j->google)
			rc = ledger_available(db, j->u.client_id, CUR_POINTS, now, &j->points);
	}
	if (rc == STORE_OK)
		rc = STORE(db, commit);
	if (rc != STORE_OK) {
		db->ops->rollback(db);
		claimed_clear(out);
	}
	w->store->ops->release(db);
	return rc;
}

/* What a push came to. */
enum push_result { PUSH_SENT, PUSH_GONE, PUSH_FAILED };

/* Apple's channel: an empty push to one device, which makes Wallet ask the web service which
 * passes changed and fetch them (Apple's "Adding a Web Service to Update Passes"). APNs:
 * POST /3/device/<token> over HTTP/2, the topic the pass's type, certificate auth with the
 * pass certificate. */
static enum push_result push_apple(struct card_update_worker *w, const struct device *d,
				   int64_t client_id)
{
	char url[1024], topic[320];
	snprintf(url, sizeof(url), "%s/3/device/%s", w->cfg.apns_url, d->push_token);
	snprintf(topic, sizeof(topic), "apns-topic: %s", d->pass_type_id);
	const char *headers[] = {"Content-Type: application/json", topic,
				 "apns-push-type: background", "apns-priority: 5"};
	struct outbound_request r = {.method = "POST",
				     .url = url,
				     .headers = headers,
				     .n_headers = ARRAY_LEN(headers),
				     .body = "{}",
				     .len = 2,
				     .timeout_ms = w->cfg.timeout_ms,
				     .allow_private = true, /* the operator's own setting */
				     .http2 = true,
				     .cert_file = w->cfg.cert_file,
				     .key_file = w->cfg.key_file,
				     .user_agent = "kopilka-wallet/1"};
	struct outbound_result res;
	outbound_request(&r, &res);
	if (res.status == 200) {
		log_debug("wallet: pushed the pass update of client %lld to a device (%lld ms)",
			  (long long)client_id, (long long)res.latency_ms);
		return PUSH_SENT;
	}
	if (res.status == 410) {
		log_info("wallet: APNs says a device of client %lld is gone; its registration is "
			 "dropped",
			 (long long)client_id);
		return PUSH_GONE;
	}
	log_warn("wallet: a pass update push of client %lld failed: %s%s%ld", (long long)client_id,
		 res.error, res.status ? "HTTP " : "", res.status);
	return PUSH_FAILED;
}

/* Google's channel: the saved LoyaltyObject's balance set to j's (http/gwallet_api.c). A card
 * whose link was followed but never saved answers 404: nothing to do (its registration stays,
 * as the customer may still save it from the link). */
static void push_google(struct card_update_worker *w, struct job *j)
{
	char points[FIXED_FMT_MAX];
	fixed_format(j->points, MONEY_DIGITS, points);
	struct outbound_result res;
	enum gwallet_sent sent =
	    gwallet_api_set_points(w->cfg.google, j->u.merchant_id, j->u.client_id, points, &res);
	switch (sent) {
	case GWALLET_SENT:
		log_debug("wallet: Google card of client %lld shows %s points (%lld ms)",
			  (long long)j->u.client_id, points, (long long)res.latency_ms);
		break;
	case GWALLET_NOT_SAVED:
		log_debug("wallet: client %lld has not saved its Google card",
			  (long long)j->u.client_id);
		break;
	case GWALLET_RETRY:
		j->failed = true;
		log_warn("wallet: the Google card update of client %lld failed: %s%s%ld",
			 (long long)j->u.client_id, res.error, res.status ? "HTTP " : "",
			 res.status);
		break;
	case GWALLET_FAILED:
		log_warn("wallet: Google refused the card update of client %lld (HTTP %ld); not "
			 "tried again",
			 (long long)j->u.client_id, res.status);
		break;
	}
}

/* Pushes every device of j, noting what came of it in j. */
static void push_job(struct card_update_worker *w, struct job *j)
{
	if (j->google && w->cfg.google)
		push_google(w, j);
	/* Apple's web service off (no https --public-url): the devices an earlier run registered
	 * are not pushed; their passes are fetched at a change once it is on again. */
	for (size_t k = 0; k < j->n_devices && w->cfg.apns_url; k++) {
		/* One channel per kind of pass; another (Google Wallet objects) is a function
		 * like push_apple, called here for its registrations. */
		enum push_result r = push_apple(w, &j->devices[k], j->u.client_id);
		j->gone[k] = r == PUSH_GONE;
		if (r == PUSH_FAILED)
			j->failed = true;
	}
}

/* Records the round's n updates in one write transaction. */
static void record(struct card_update_worker *w, const char *token, struct claimed *cl, size_t n)
{
	if (n == 0)
		return;
	struct store_conn *db = w->store->ops->acquire(w->store);
	enum store_rc rc = STORE_RETRY;
	int64_t now = now_ms();
	for (int t = 0; t < RECORD_TRIES && rc == STORE_RETRY; t++) {
		rc = STORE(db, begin, STORE_TX_ROWS);
		for (size_t i = 0; i < n && rc == STORE_OK; i++) {
			struct job *j = &cl->jobs[i];
			for (size_t k = 0; k < j->n_devices && rc == STORE_OK; k++)
				if (j->gone[k])
					rc = STORE(db, pass_device_drop, j->u.client_id,
						   j->devices[k].device_id,
						   j->devices[k].push_token);
			bool give_up =
			    j->failed && (j->u.attempts + 1 >= CARD_UPDATE_ATTEMPTS_MAX ||
					  now - j->u.first_ms >= CARD_UPDATE_WINDOW_MS);
			if (give_up)
				log_warn(
				    "wallet: the pass update of client %lld is given up after %lld "
				    "attempts",
				    (long long)j->u.client_id, (long long)j->u.attempts + 1);
			int64_t next =
			    now + webhook_backoff_ms(j->u.attempts + 1, w->cfg.retry_base_ms,
						     randombytes_uniform(1000));
			if (rc == STORE_OK)
				rc = STORE(db, card_update_record, j->u.client_id, token,
					   !j->failed || give_up, next);
			/* Lost lease: a newer change queued it again; that one is pushed. */
			if (rc == STORE_NOT_FOUND)
				rc = STORE_OK;
		}
		if (rc == STORE_OK)
			rc = STORE(db, commit);
		if (rc != STORE_OK)
			db->ops->rollback(db);
	}
	if (rc != STORE_OK)
		log_warn("wallet: could not record a round of %zu pass updates; their leases will "
			 "run out and they are pushed again",
			 n);
	w->store->ops->release(db);
}

/* The most requests pushing j may take: one per device, three for a Google card (its token
 * asked for, refused and asked for again). */
static int64_t job_requests(const struct job *j)
{
	return (int64_t)j->n_devices + (j->google ? 3 : 0);
}

static void *worker_loop(void *arg)
{
	struct card_update_worker *w = arg;
	/* Large: a round's jobs with their devices. */
	struct claimed *cl = xcalloc(1, sizeof(*cl));
	while (!worker_stopping(&w->thread)) {
		char token[33];
		random_hex(token, 16);
		int64_t lease_until = 0;
		enum store_rc rc = claim(w, token, cl, &lease_until);
		size_t sent = 0;
		/* Stopping, or a job that might outlast the lease: what is not pushed keeps its
		 * lease, runs out and is pushed again. */
		while (sent < cl->n && !worker_stopping(&w->thread) &&
		       now_ms() + job_requests(&cl->jobs[sent]) * w->cfg.timeout_ms < lease_until)
			push_job(w, &cl->jobs[sent++]);
		record(w, token, cl, sent);
		bool idle = cl->n == 0;
		claimed_clear(cl);
		if (rc != STORE_OK)
			log_warn("wallet: claiming due pass updates failed; will retry");
		if ((idle || rc != STORE_OK) && worker_wait_ms(&w->thread, w->cfg.period_ms))
			break;
	}
	free(cl);
	return NULL;
}

struct card_update_worker *card_update_worker_start(struct store *st,
						    const struct card_update_worker_config *cfg)
{
	struct card_update_worker *w = xcalloc(1, sizeof(*w));
	w->store = st;
	w->cfg = *cfg;
	if (!worker_start(&w->thread, worker_loop, w)) {
		log_error("wallet: cannot start the pass update worker");
		free(w);
		return NULL;
	}
	return w;
}

void card_update_worker_stop(struct card_update_worker *w)
{
	if (!w)
		return;
	worker_stop(&w->thread);
	free(w);
}
