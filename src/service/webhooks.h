/* The webhook delivery worker (issue 16): a thread of kopilkad of its own that claims due
 * deliveries from the outbox (service/events.h), POSTs each signed event to its endpoint and
 * records the outcome, and writes points.expiring for lots about to expire. It holds no
 * transaction (on SQLite: not the writer) while it waits on the network, so a slow or dead
 * endpoint never slows the API. */
#ifndef KOPILKA_SERVICE_WEBHOOKS_H
#define KOPILKA_SERVICE_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The signature header's v1: hex HMAC-SHA256 of "<t>.<body>" keyed by the endpoint's secret
 * (Stripe's scheme). hex: 65 bytes. */
void webhook_signature(const char *secret, int64_t t, const char *body, size_t len, char hex[65]);

struct webhook_worker_config {
	int64_t period_ms;     /* the wait when nothing was due */
	int64_t retry_base_ms; /* the first retry's wait (domain/webhook.h: webhook_backoff_ms) */
	int64_t timeout_ms;    /* one attempt's deadline */
	int64_t expiring_days; /* points.expiring this long before a lot expires */
	bool allow_private;    /* deliveries may reach non-public addresses */
};

struct webhook_worker;

/* Starts the worker on st (it borrows a connection only while it reads or records). NULL
 * when the thread could not start (logged). */
struct webhook_worker *webhook_worker_start(struct store *st,
					    const struct webhook_worker_config *cfg);
/* Stops it (an attempt in flight finishes first, within its timeout) and frees it. NULL: no-op. */
void webhook_worker_stop(struct webhook_worker *w);

#endif
