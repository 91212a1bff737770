/* Prometheus metrics (see metrics.h). */
#include "core/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "domain/money.h"

/* Latency buckets in seconds, as microsecond bounds. */
static const int64_t bucket_us[] = {250,   500,	   1000,   2500,   5000,    10000,   25000,
				    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

/* The statuses counted per route; anything else counts as "other". */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405,
			       409, 413, 415, 422, 429, 500, 503};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

struct route_metrics {
	atomic_llong by_status[N_STATUSES + 1];
	atomic_llong buckets[N_BUCKETS + 1]; /* last: +Inf */
	atomic_llong sum_us;
	atomic_llong count;
};

static const char *const *route_names;
static size_t n_routes;
/* Index n_routes is "no route matched". */
static struct route_metrics routes[METRICS_MAX_ROUTES + 1];
static atomic_llong counters[M_COUNTER_COUNT];
static atomic_llong in_flight;
static atomic_llong commit_buckets[N_BUCKETS + 1], commit_sum_us, commit_count, commit_batch_sum;

static atomic_llong backup_last_ms, backup_last_bytes, backup_last_duration_us, backup_written,
    backup_failures;
static atomic_bool backup_last_failed;

void metrics_set_routes(const char *const *names, size_t n)
{
	route_names = names;
	n_routes = n < METRICS_MAX_ROUTES ? n : METRICS_MAX_ROUTES;
}

static void observe(atomic_llong *buckets, int64_t us)
{
	size_t b = 0;
	while (b < N_BUCKETS && us > bucket_us[b])
		b++;
	atomic_fetch_add_explicit(&buckets[b], 1, memory_order_relaxed);
}

void metrics_request(int route, int status, int64_t duration_us)
{
	struct route_metrics *m =
	    &routes[route >= 0 && (size_t)route < n_routes ? (size_t)route : n_routes];
	size_t s = 0;
	while (s < N_STATUSES && statuses[s] != status)
		s++;
	atomic_fetch_add_explicit(&m->by_status[s], 1, memory_order_relaxed);
	observe(m->buckets, duration_us);
	atomic_fetch_add_explicit(&m->sum_us, duration_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

void metrics_in_flight_add(int delta)
{
	atomic_fetch_add_explicit(&in_flight, delta, memory_order_relaxed);
}

void metrics_add(enum metric_counter c, int64_t v)
{
	atomic_fetch_add_explicit(&counters[c], v, memory_order_relaxed);
}

void metrics_commit(int64_t duration_us, int64_t batch_size)
{
	observe(commit_buckets, duration_us);
	atomic_fetch_add_explicit(&commit_sum_us, duration_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&commit_count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&commit_batch_sum, batch_size, memory_order_relaxed);
}

static long long load(atomic_llong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void metrics_backup_done(int64_t at_ms, int64_t bytes, int64_t duration_us)
{
	atomic_store_explicit(&backup_last_bytes, bytes, memory_order_relaxed);
	atomic_store_explicit(&backup_last_duration_us, duration_us, memory_order_relaxed);
	atomic_store_explicit(&backup_last_ms, at_ms, memory_order_relaxed);
	atomic_fetch_add_explicit(&backup_written, 1, memory_order_relaxed);
	atomic_store_explicit(&backup_last_failed, false, memory_order_relaxed);
}

void metrics_backup_failed(void)
{
	atomic_fetch_add_explicit(&backup_failures, 1, memory_order_relaxed);
	atomic_store_explicit(&backup_last_failed, true, memory_order_relaxed);
}

void metrics_backup_get(struct metrics_backup *out)
{
	out->last_ms = load(&backup_last_ms);
	out->last_bytes = load(&backup_last_bytes);
	out->last_duration_us = load(&backup_last_duration_us);
	out->written = load(&backup_written);
	out->failures = load(&backup_failures);
	out->last_failed = atomic_load_explicit(&backup_last_failed, memory_order_relaxed);
}

/* Splits "GET /path" into the method and the path labels. */
static void route_labels(size_t i, char *method, size_t mcap, const char **path)
{
	const char *name = i < n_routes ? route_names[i] : "none (unmatched)";
	const char *sp = strchr(name, ' ');
	size_t n = sp ? (size_t)(sp - name) : 0;
	snprintf(method, mcap, "%.*s", (int)n, name);
	*path = sp ? sp + 1 : name;
}

static void seconds(struct buf *out, int64_t us)
{
	buf_printf(out, "%lld.%06lld", (long long)(us / 1000000), (long long)(us % 1000000));
}

static void histogram(struct buf *out, const char *name, const char *labels, atomic_llong *buckets,
		      int64_t sum_us, long long count)
{
	long long cumulative = 0;
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cumulative += load(&buckets[b]);
		buf_printf(out, "%s_bucket{%s%sle=\"", name, labels, *labels ? "," : "");
		if (b < N_BUCKETS)
			seconds(out, bucket_us[b]);
		else
			buf_puts(out, "+Inf");
		buf_printf(out, "\"} %lld\n", cumulative);
	}
	buf_printf(out, "%s_sum%s%s%s ", name, *labels ? "{" : "", labels, *labels ? "}" : "");
	seconds(out, sum_us);
	buf_printf(out, "\n%s_count%s%s%s %lld\n", name, *labels ? "{" : "", labels,
		   *labels ? "}" : "", count);
}

static void counter(struct buf *out, const char *name, const char *help, long long v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lld\n", name, help, name, name, v);
}

static void points(struct buf *out, const char *name, const char *help, enum metric_counter c)
{
	char v[FIXED_FMT_MAX];
	fixed_format(load(&counters[c]), MONEY_DIGITS, v);
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %s\n", name, help, name, name, v);
}

static long long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long pages = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%lld %lld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

void metrics_render(struct buf *out, const struct metrics_gauges *g)
{
	buf_puts(out, "# HELP kopilka_http_requests_total Requests answered, by route template "
		      "and status.\n# TYPE kopilka_http_requests_total counter\n");
	for (size_t i = 0; i <= n_routes; i++) {
		char method[16];
		const char *path;
		route_labels(i, method, sizeof(method), &path);
		for (size_t s = 0; s <= N_STATUSES; s++) {
			long long v = load(&routes[i].by_status[s]);
			if (!v)
				continue;
			buf_printf(out, "kopilka_http_requests_total{method=\"%s\",route=\"%s\",",
				   method, path);
			if (s < N_STATUSES)
				buf_printf(out, "status=\"%d\"} %lld\n", statuses[s], v);
			else
				buf_printf(out, "status=\"other\"} %lld\n", v);
		}
	}
	buf_puts(out, "# HELP kopilka_http_request_duration_seconds Time from the request's "
		      "headers to its answer, by route template.\n"
		      "# TYPE kopilka_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= n_routes; i++) {
		long long count = load(&routes[i].count);
		if (!count)
			continue;
		char method[16], labels[256];
		const char *path;
		route_labels(i, method, sizeof(method), &path);
		snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method, path);
		histogram(out, "kopilka_http_request_duration_seconds", labels, routes[i].buckets,
			  load(&routes[i].sum_us), count);
	}
	buf_printf(out,
		   "# HELP kopilka_http_requests_in_flight Requests being handled now.\n"
		   "# TYPE kopilka_http_requests_in_flight gauge\n"
		   "kopilka_http_requests_in_flight %lld\n",
		   load(&in_flight));
	buf_printf(out,
		   "# HELP kopilka_orders_created_total Orders stored, by receipt type.\n"
		   "# TYPE kopilka_orders_created_total counter\n"
		   "kopilka_orders_created_total{receipt_type=\"sale\"} %lld\n"
		   "kopilka_orders_created_total{receipt_type=\"refund\"} %lld\n",
		   load(&counters[M_ORDERS_SALE]), load(&counters[M_ORDERS_REFUND]));
	counter(out, "kopilka_orders_replayed_total",
		"Retried orders answered with the stored response.",
		load(&counters[M_ORDERS_REPLAYED]));
	points(out, "kopilka_points_accrued_total", "Points and rubles accrued by sales.",
	       M_POINTS_ACCRUED_MINOR);
	points(out, "kopilka_points_spent_total", "Points and rubles spent in sales.",
	       M_POINTS_SPENT_MINOR);
	points(out, "kopilka_points_taken_back_total", "Accruals taken back by refunds.",
	       M_POINTS_TAKEN_BACK_MINOR);
	points(out, "kopilka_points_returned_total", "Spends returned by refunds.",
	       M_POINTS_RETURNED_MINOR);
	points(out, "kopilka_points_expired_total", "Points written off by the expiry sweep.",
	       M_POINTS_EXPIRED_MINOR);
	counter(out, "kopilka_auth_failures_total",
		"Failed logins (unknown login or wrong "
		"password).",
		load(&counters[M_AUTH_FAILURES]));
	counter(out, "kopilka_auth_lockouts_total", "Logins or addresses locked.",
		load(&counters[M_AUTH_LOCKOUTS]));
	counter(out, "kopilka_auth_locked_requests_total",
		"Requests refused with 429 because of a lock.",
		load(&counters[M_AUTH_LOCKED_REQUESTS]));
	counter(out, "kopilka_auth_cache_hits_total", "Requests authenticated from the cache.",
		load(&counters[M_AUTH_CACHE_HITS]));
	counter(out, "kopilka_auth_argon2_verifications_total", "Argon2id verifications run.",
		load(&counters[M_AUTH_ARGON2]));
	counter(out, "kopilka_db_commits_total", "Write transactions committed.",
		load(&counters[M_DB_COMMITS]));
	counter(out, "kopilka_db_rollbacks_total", "Write transactions rolled back.",
		load(&counters[M_DB_ROLLBACKS]));
	counter(out, "kopilka_db_retries_total", "Write transactions retried after a conflict.",
		load(&counters[M_DB_RETRIES]));
	counter(out, "kopilka_db_checkpoints_total",
		"SQLite WAL checkpoints run beside the writers (off the commit path).",
		load(&counters[M_DB_CHECKPOINTS]));
	counter(out, "kopilka_db_checkpoints_inline_total",
		"SQLite WAL checkpoints the writer ran itself (the WAL passed its hard bound).",
		load(&counters[M_DB_CHECKPOINTS_INLINE]));
	counter(out, "kopilka_db_wal_syncs_total",
		"SQLite WAL syncs after committed groups, outside the writer lock "
		"(--sqlite-synchronous full).",
		load(&counters[M_DB_WAL_SYNCS]));
	counter(out, "kopilka_db_statements_total",
		"SQL statements the storage engine ran (prepared ones, both engines).",
		load(&counters[M_DB_STATEMENTS]));
	buf_puts(out, "# HELP kopilka_db_commit_duration_seconds Time of each commit.\n"
		      "# TYPE kopilka_db_commit_duration_seconds histogram\n");
	histogram(out, "kopilka_db_commit_duration_seconds", "", commit_buckets,
		  load(&commit_sum_us), load(&commit_count));
	counter(out, "kopilka_db_commit_batch_writes_total",
		"Writes carried by the commits (equals commits while each write commits alone).",
		load(&commit_batch_sum));
	buf_printf(out,
		   "# HELP kopilka_db_pool_connections Database connections in the pool.\n"
		   "# TYPE kopilka_db_pool_connections gauge\n"
		   "kopilka_db_pool_connections %d\n"
		   "# HELP kopilka_db_pool_in_use Database connections borrowed now.\n"
		   "# TYPE kopilka_db_pool_in_use gauge\nkopilka_db_pool_in_use %d\n",
		   g->db_pool_size, g->db_pool_in_use);
	struct metrics_backup bk;
	metrics_backup_get(&bk);
	counter(out, "kopilka_backups_total", "Scheduled backups written (--backup-dir).",
		bk.written);
	counter(out, "kopilka_backup_failures_total", "Scheduled backups that failed.",
		bk.failures);
	buf_printf(out,
		   "# HELP kopilka_backup_last_success_timestamp_seconds When the last scheduled "
		   "backup was written (0: none yet).\n"
		   "# TYPE kopilka_backup_last_success_timestamp_seconds gauge\n"
		   "kopilka_backup_last_success_timestamp_seconds %lld.%03lld\n"
		   "# HELP kopilka_backup_last_size_bytes Size of the last scheduled backup.\n"
		   "# TYPE kopilka_backup_last_size_bytes gauge\n"
		   "kopilka_backup_last_size_bytes %lld\n"
		   "# HELP kopilka_backup_last_duration_seconds How long the last scheduled backup "
		   "took.\n"
		   "# TYPE kopilka_backup_last_duration_seconds gauge\n"
		   "kopilka_backup_last_duration_seconds ",
		   (long long)(bk.last_ms / 1000), (long long)(bk.last_ms % 1000),
		   (long long)bk.last_bytes);
	seconds(out, bk.last_duration_us);
	buf_puts(out, "\n");
	buf_printf(out,
		   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
		   "# TYPE process_resident_memory_bytes gauge\n"
		   "process_resident_memory_bytes %lld\n",
		   resident_bytes());
}
