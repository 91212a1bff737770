/* Process-wide counters and histograms, rendered in the Prometheus text format by GET /metrics.
 * Recording is lock-free (relaxed atomics) so it costs nothing measurable on the hot path.
 * Labels are route templates, never raw paths: no id or token can become a label value. */
#ifndef KOPILKA_CORE_METRICS_H
#define KOPILKA_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

#define METRICS_MAX_ROUTES 64

enum metric_counter {
	M_ORDERS_SALE,
	M_ORDERS_REFUND,
	M_ORDERS_REPLAYED,
	M_POINTS_ACCRUED_MINOR,
	M_POINTS_SPENT_MINOR,
	M_POINTS_TAKEN_BACK_MINOR,
	M_POINTS_RETURNED_MINOR,
	M_POINTS_EXPIRED_MINOR,
	M_AUTH_FAILURES,
	M_AUTH_LOCKOUTS,
	M_AUTH_LOCKED_REQUESTS,
	M_AUTH_CACHE_HITS,
	M_AUTH_ARGON2,
	M_DB_COMMITS,
	M_DB_ROLLBACKS,
	M_DB_RETRIES,
	M_DB_CHECKPOINTS,
	M_DB_CHECKPOINTS_INLINE,
	M_DB_WAL_SYNCS,
	M_DB_STATEMENTS,
	M_COUNTER_COUNT,
};

/* Names the routes: index i is "METHOD /path/{id}/" of the route table. Call once at start. */
void metrics_set_routes(const char *const *names, size_t n);

/* One finished request: route index (-1 when no route matched), status, duration. */
void metrics_request(int route, int status, int64_t duration_us);
void metrics_in_flight_add(int delta);
void metrics_add(enum metric_counter c, int64_t v);
/* One commit of a write transaction and the orders/writes it carried (1 without batching). */
void metrics_commit(int64_t duration_us, int64_t batch_size);

/* The scheduled backups of serve (--backup-dir). */
struct metrics_backup {
	int64_t last_ms;	  /* wall-clock time of the last backup written; 0: none yet */
	int64_t last_bytes;	  /* its size */
	int64_t last_duration_us; /* how long it took */
	int64_t written;	  /* backups written since the start */
	int64_t failures;	  /* backups that failed since the start */
	bool last_failed;	  /* the latest attempt failed */
};
/* A backup written (at_ms wall-clock time), or one that failed. */
void metrics_backup_done(int64_t at_ms, int64_t bytes, int64_t duration_us);
void metrics_backup_failed(void);
/* The figures as they are now (each read atomically, not all together). */
void metrics_backup_get(struct metrics_backup *out);

/* Figures sampled at render time. */
struct metrics_gauges {
	int db_pool_size, db_pool_in_use;
};

/* Appends the whole exposition to out. */
void metrics_render(struct buf *out, const struct metrics_gauges *g);

#endif
