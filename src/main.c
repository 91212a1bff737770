/* kopilkad: the command line. `init` adds a merchant, `serve` runs the API, `check` verifies
 * the ledger, `backup` and `restore` copy a SQLite database out and back. Settings come from
 * the table in core/config.c (see --help). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "core/config.h"
#include "core/gwallet.h"
#include "core/log.h"
#include "core/metrics.h"
#include "domain/lk.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "http/gwallet_api.h"
#include "http/outbound.h"
#include "http/server.h"
#include "service/backups.h"
#include "service/cardupdates.h"
#include "service/events.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "service/sms.h"
#include "service/wallet.h"
#include "service/webhooks.h"
#include "store/accounts.h"
#include "store/backup.h"
#include "store/check.h"
#include "store/media.h"
#include "store/merchant.h"
#include "store/sqlite.h"
#include "store/store.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256
#define SWEEP_BATCH 500
/* One request to Google Wallet's API or its token endpoint (http/gwallet_api.c). */
#define GWALLET_TIMEOUT_MS 10000

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: kopilkad COMMAND [OPTIONS]\n"
		"A self-hosted loyalty server: the i-bonus external REST API over SQLite or\n"
		"PostgreSQL.\n"
		"\n"
		"Commands:\n"
		"  init --db PATH --email EMAIL --password PASSWORD [--name NAME]\n"
		"                      creates the database if needed and adds a merchant with\n"
		"                      its owner account; prints the new merchant id\n"
		"  serve --db PATH [--listen HOST:PORT] [--threads N] [...]\n"
		"                      serves the API; SIGINT/SIGTERM stop it after the\n"
		"                      requests in flight\n"
		"  check --db PATH\n"
		"                      verifies the ledger invariants; exits 1 with a report\n"
		"                      when broken\n"
		"  backup --db PATH --out FILE\n"
		"                      copies a SQLite database, also while a server runs,\n"
		"                      into FILE (written aside, synced, then renamed)\n"
		"  restore --from FILE --db PATH\n"
		"                      checks a backup and puts it in place of a database no\n"
		"                      process has open, keeping the replaced file as\n"
		"                      PATH.replaced-TIME\n"
		"  routes\n"
		"                      prints the route table, one \"METHOD /path\" a line\n"
		"  --help, -h\n"
		"                      prints this text\n"
		"  --version\n"
		"                      prints the version\n"
		"\n"
		"Every setting is read from its default, then its environment variable, then\n"
		"its flag (the last one found wins); a flag takes its value as --flag VALUE or\n"
		"--flag=VALUE.\n"
		"\n");
	config_print_help(out);
	fprintf(out,
		"\n"
		"Exit status:\n"
		"  0                   success\n"
		"  1                   a failure or a broken ledger (check); the reason is on\n"
		"                      stderr\n"
		"  2                   a command line that cannot be run (a missing or\n"
		"                      malformed setting)\n");
}

static struct store *open_store_at(const struct config *cfg, const char *db, bool create, int pool,
				   bool skip_migration_backup)
{
	struct store_options opt = {.synchronous = cfg->sqlite_synchronous,
				    .busy_timeout_ms = cfg->busy_timeout_ms,
				    .pool_size = pool,
				    .group_commit_max = (int)cfg->group_commit_max,
				    .sqlite_memory_mib = cfg->sqlite_memory_mib,
				    .create = create,
				    .skip_migration_backup = skip_migration_backup};
	char err[PATH_MAX + 512];
	struct store *st = store_open(db, &opt, err, sizeof(err));
	if (!st)
		fprintf(stderr, "kopilkad: %s\n", err);
	return st;
}

static struct store *open_store(const struct config *cfg, bool create, int pool)
{
	return open_store_at(cfg, cfg->db, create, pool, false);
}

static int cmd_init(const struct config *cfg)
{
	char email[EMAIL_MAX + 1];
	if (cfg->db && !cfg->email && !cfg->password) {
		/* Only the database (what the Debian package's postinst does): created and
		 * migrated, no merchant added. */
		struct store *st = open_store(cfg, true, 1);
		if (!st)
			return 1;
		st->ops->close(st);
		char shown[512];
		store_uri_display(cfg->db, shown, sizeof(shown));
		fprintf(stderr, "kopilkad: database %s is ready; no merchant added\n", shown);
		return 0;
	}
	if (!cfg->db || !cfg->email || !cfg->password) {
		fprintf(stderr, "kopilkad init: --db, --email and --password are required (or "
				"--db alone to create the database only)\n");
		return 2;
	}
	if (!email_normalize(cfg->email, email)) {
		fprintf(stderr, "kopilkad init: --email \"%s\" is not an email address\n",
			cfg->email);
		return 2;
	}
	size_t pw_len = text_utf8_valid(cfg->password, strlen(cfg->password))
			    ? text_utf8_length(cfg->password)
			    : 0;
	if (pw_len < PASSWORD_MIN || pw_len > PASSWORD_MAX) {
		fprintf(stderr, "kopilkad init: --password must be %d to %d characters long\n",
			PASSWORD_MIN, PASSWORD_MAX);
		return 2;
	}
	char hash[AUTH_HASH_MAX];
	if (!auth_hash_password(cfg->password, hash)) {
		fprintf(stderr, "kopilkad init: out of memory hashing the password\n");
		return 1;
	}
	struct store *st = open_store(cfg, true, 1);
	if (!st)
		return 1;
	struct store_conn *db = st->ops->acquire(st);
	int64_t merchant_id = 0, account_id = 0;
	int status = 1;
	struct account acc = {.kind = ACCOUNT_MERCHANT, .role = ROLE_OWNER};
	enum store_rc rc = STORE(db, begin, true);
	if (rc == STORE_OK)
		rc = STORE(db, merchant_create, cfg->name ? cfg->name : email, now_ms(),
			   &merchant_id);
	if (rc == STORE_OK) {
		acc.merchant_id = merchant_id;
		acc.email = email;
		acc.password_hash = hash;
		rc = STORE(db, account_create, &acc, &account_id);
	}
	if (rc == STORE_OK)
		rc = STORE(db, commit);
	if (rc != STORE_OK) {
		db->ops->rollback(db);
		if (rc == STORE_CONFLICT)
			fprintf(stderr, "kopilkad init: the email %s is already in use\n", email);
		else
			fprintf(stderr, "kopilkad init: could not write the database\n");
	} else {
		fprintf(stderr, "kopilkad: created merchant %lld with owner %s\n",
			(long long)merchant_id, email);
		printf("%lld\n", (long long)merchant_id);
		status = 0;
	}
	st->ops->release(db);
	st->ops->close(st);
	return status;
}

struct sweeper {
	struct store *store;
	int64_t interval_s;
	int64_t lk_idle_ms, lk_lifetime_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
};

/* Releases expired holds and writes expired lots off as `expire` ledger rows, a batch per
 * transaction. */
static void *sweep_loop(void *arg)
{
	struct sweeper *sw = arg;
	pthread_mutex_lock(&sw->mu);
	while (!sw->stop) {
		pthread_mutex_unlock(&sw->mu);
		struct store_conn *db = sw->store->ops->acquire(sw->store);
		size_t n = SWEEP_BATCH, released = SWEEP_BATCH, total = 0, total_released = 0;
		while (n == SWEEP_BATCH || released == SWEEP_BATCH) {
			enum store_rc rc = STORE(db, begin, true);
			money_t expired = 0;
			/* Expired holds first: what they give back to expired lots expires too. */
			if (rc == STORE_OK)
				rc = holds_release_expired(db, 0, now_ms(), SWEEP_BATCH, &released);
			if (rc == STORE_OK)
				rc = ledger_expire_sweep(db, now_ms(), SWEEP_BATCH, &n, &expired);
			if (rc == STORE_OK)
				rc = STORE(db, commit);
			if (rc != STORE_OK) {
				db->ops->rollback(db);
				log_warn("expiry sweep failed; will retry");
				break;
			}
			total += n;
			total_released += released;
			metrics_add(M_POINTS_EXPIRED_MINOR, expired);
		}
		/* Cabinet sessions past their idle timeout or lifetime (api/session.c). */
		int64_t ended = 0;
		if (STORE(db, begin, true) == STORE_OK &&
		    STORE(db, lk_sessions_purge, now_ms() - sw->lk_idle_ms,
			  now_ms() - sw->lk_lifetime_ms, &ended) == STORE_OK &&
		    STORE(db, commit) == STORE_OK) {
			if (ended)
				log_info("removed %lld expired cabinet sessions", (long long)ended);
		} else {
			db->ops->rollback(db);
		}
		/* Idempotency-Key answers are kept 7 days (API.md 6). */
		int64_t purged = 0;
		if (STORE(db, begin, true) == STORE_OK &&
		    STORE(db, idem_purge, now_ms() - 7LL * 24 * 3600 * 1000, &purged) == STORE_OK &&
		    STORE(db, commit) == STORE_OK) {
			if (purged)
				log_info("purged %lld expired idempotency keys", (long long)purged);
		} else {
			db->ops->rollback(db);
		}
		sw->store->ops->release(db);
		if (total)
			log_info("expiry sweep wrote off %zu lots", total);
		if (total_released)
			log_info("expiry sweep released %zu expired holds", total_released);
		pthread_mutex_lock(&sw->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sw->interval_s;
		while (!sw->stop && pthread_cond_timedwait(&sw->cv, &sw->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

/* SIGHUP: after logrotate renamed the access log, new lines go to a new file at its path. */
static void reopen_logs(void)
{
	bool reopened;
	if (!log_access_reopen(&reopened))
		log_error(
		    "received SIGHUP: cannot reopen --access-log %s (%s); still writing to the "
		    "file it had open",
		    log_access_path(), strerror(errno));
	else if (reopened)
		log_info("received SIGHUP: reopened the access log %s", log_access_path());
	else
		log_info("received SIGHUP: no --access-log to reopen (access lines go to stderr)");
}

/* Waits for a signal that stops the server, reopening the logs on each SIGHUP a process sends
 * (logrotate, systemctl reload, kill -HUP). The kernel sends SIGHUP itself (SI_KERNEL) when the
 * controlling terminal hangs up: a server started in a terminal still stops when it is closed.
 * Returns what stopped it, for the log. */
static const char *wait_for_stop(const sigset_t *signals)
{
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(signals, &info);
		if (sig == SIGINT)
			return "SIGINT";
		if (sig == SIGTERM)
			return "SIGTERM";
		if (sig == SIGHUP && info.si_code == SI_KERNEL)
			return "SIGHUP (the terminal hung up)";
		if (sig == SIGHUP)
			reopen_logs();
		else if (errno != EINTR)
			return "an error waiting for signals";
	}
}

/* The join page's settings, checked before the server listens: --consent-version 1 to 64
 * characters, the SMS gateway's (service/sms.c), and --consent-file read into *text_out (NULL:
 * not set, the built-in text), at most 16 KiB of UTF-8, not empty. false: why in error. */
static bool enrol_settings_load(const struct config *cfg, char **text_out, char *error, size_t cap)
{
	*text_out = NULL;
	size_t version_chars = text_utf8_valid(cfg->consent_version, strlen(cfg->consent_version))
				   ? text_utf8_length(cfg->consent_version)
				   : 0;
	if (version_chars < 1 || version_chars > 64) {
		snprintf(error, cap, "--consent-version: must be 1 to 64 characters of UTF-8");
		return false;
	}
	if (!sms_config_valid(cfg, error, cap))
		return false;
	if (!*cfg->consent_file)
		return true;
	FILE *f = fopen(cfg->consent_file, "rb");
	if (!f) {
		snprintf(error, cap, "--consent-file: cannot read %s: %s", cfg->consent_file,
			 strerror(errno));
		return false;
	}
	struct buf b;
	buf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= 16384)
		buf_append(&b, chunk, n);
	fclose(f);
	size_t len = b.len;
	char *text = buf_steal(&b, NULL);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (len == 0 || len > 16384 || !text_utf8_valid(text, len) || strlen(text) != len) {
		snprintf(error, cap,
			 "--consent-file: %s must hold 1 byte to 16 KiB of UTF-8 text (no NUL)",
			 cfg->consent_file);
		free(text);
		return false;
	}
	*text_out = text;
	return true;
}

/* Serves until SIGINT or SIGTERM; wallet, gwallet: the Apple Wallet and Google Wallet signers,
 * or NULL (not offered). */
static int serve(const struct config *cfg, const struct wallet_signer *wallet,
		 const struct gwallet *gwallet)
{
	if (!cfg->db) {
		fprintf(stderr, "kopilkad serve: --db is required\n");
		return 2;
	}
	if (store_uri_is_file(cfg->db) && access(cfg->db, F_OK) != 0) {
		fprintf(stderr,
			"kopilkad serve: database %s does not exist; create it with "
			"kopilkad init\n",
			cfg->db);
		return 1;
	}
	const char *bad_proxy = NULL;
	if (!lk_proxy_list_valid(cfg->trusted_proxy, &bad_proxy)) {
		fprintf(stderr,
			"kopilkad serve: --trusted-proxy: must be a comma list of IP addresses; "
			"not an address at \"%s\"\n",
			bad_proxy);
		return 2;
	}
	char consent_error[PATH_MAX + 256];
	char *consent_text = NULL;
	if (!enrol_settings_load(cfg, &consent_text, consent_error, sizeof(consent_error))) {
		fprintf(stderr, "kopilkad serve: %s\n", consent_error);
		return 2;
	}
	/* Signals are taken by the main thread alone, with sigwait: blocked here, before any
	 * thread starts, every thread inherits the mask, and no handler runs in a thread that
	 * holds a lock. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* SQLite: a connection for every thread that may run a request (writes run on the one
	 * writer connection, their pooled one stays cold). PostgreSQL: each connection is a
	 * server process and writers queue on one lock anyway, so only `threads` of the write
	 * workers get one at once (several nodes must fit max_connections). */
	int64_t writers = cfg->write_workers;
	if (!store_uri_is_file(cfg->db) && writers > cfg->threads)
		writers = cfg->threads;
	int pool = cfg->pool_size > 0 ? (int)cfg->pool_size : (int)(cfg->threads + writers) + 3;
	struct store *st = open_store(cfg, false, pool);
	if (!st)
		return 1;
	struct backup_schedule *backups = NULL;
	if (*cfg->backup_dir) {
		char err[PATH_MAX + 512];
		backups = backup_schedule_start(cfg->db, cfg->backup_dir, cfg->backup_every_seconds,
						cfg->backup_keep, err, sizeof(err));
		if (!backups) {
			fprintf(stderr, "kopilkad serve: %s\n", err);
			st->ops->close(st);
			return 2;
		}
	}
	struct auth *auth = auth_create(cfg);
	if (!auth) {
		fprintf(stderr, "kopilkad: cannot initialise the authenticator\n");
		backup_schedule_stop(backups);
		st->ops->close(st);
		return 1;
	}
	if (*cfg->access_log && !log_access_open(cfg->access_log)) {
		fprintf(stderr, "kopilkad: cannot open --access-log %s: %s\n", cfg->access_log,
			strerror(errno));
		backup_schedule_stop(backups);
		auth_destroy(auth);
		st->ops->close(st);
		return 1;
	}
	size_t n_routes;
	const char *const *route_names = api_route_names(&n_routes);
	metrics_set_routes(route_names, n_routes);
	/* Created on the first upload, so a server that never takes one leaves no directory. */
	char media_dir[PATH_MAX];
	if (*cfg->media_dir)
		snprintf(media_dir, sizeof(media_dir), "%s", cfg->media_dir);
	else
		media_default_dir(cfg->db, media_dir, sizeof(media_dir));
	events_set_public_url(cfg->public_url);
	if (!outbound_init()) {
		log_error("libcurl failed to start: webhooks cannot be delivered");
		backup_schedule_stop(backups);
		auth_destroy(auth);
		st->ops->close(st);
		return 1;
	}
	struct app app = {.store = st,
			  .cfg = cfg,
			  .auth = auth,
			  .media_dir = media_dir,
			  .wallet = wallet,
			  .gwallet = gwallet,
			  .consent_text = consent_text};
	struct app metrics_app = {
	    .store = st, .cfg = cfg, .auth = auth, .metrics_only = true, .media_dir = media_dir};
	/* The metrics listener first: once the API port answers, everything is up. */
	struct http_server *metrics_http = NULL;
	bool metrics_ok = true;
	if (*cfg->metrics_listen) {
		metrics_http = http_start(&metrics_app, cfg, cfg->metrics_listen, 1, 0);
		metrics_ok = metrics_http != NULL;
	}
	struct http_server *http =
	    metrics_ok
		? http_start(&app, cfg, cfg->listen, (int)cfg->threads, (int)cfg->write_workers)
		: NULL;
	if (!http && metrics_http) {
		http_stop(metrics_http, 0);
		metrics_http = NULL;
	}
	if (!http) {
		backup_schedule_stop(backups);
		auth_destroy(auth);
		st->ops->close(st);
		return 1;
	}
	struct sweeper sw = {.store = st,
			     .interval_s = cfg->expire_sweep_seconds,
			     .lk_idle_ms = cfg->lk_idle_timeout_seconds * 1000,
			     .lk_lifetime_ms = cfg->lk_lifetime_seconds * 1000};
	pthread_mutex_init(&sw.mu, NULL);
	pthread_cond_init(&sw.cv, NULL);
	pthread_t sweep_thread;
	pthread_create(&sweep_thread, NULL, sweep_loop, &sw);
	struct webhook_worker_config wcfg = {.period_ms = cfg->webhook_period_ms,
					     .retry_base_ms = cfg->webhook_retry_base_ms,
					     .timeout_ms = cfg->webhook_timeout_ms,
					     .expiring_days = cfg->webhook_expiring_days,
					     .allow_private = cfg->webhook_allow_private != 0};
	struct webhook_worker *webhooks = webhook_worker_start(st, &wcfg);
	/* Pass updates: Apple's when the passes carry the web service that devices register with,
	 * Google's when Google Wallet is configured (the cards saved from the card page). */
	struct card_update_worker *card_updates = NULL;
	struct gwallet_api *google = NULL;
	char service_url[1024];
	bool apple = wallet && passkit_service_url(cfg, service_url, sizeof(service_url));
	if (wallet && !apple)
		log_warn("Apple Wallet passes do not update: --public-url %s is not https "
			 "(--wallet-allow-http 1 allows http for tests)",
			 cfg->public_url);
	if (gwallet)
		google = gwallet_api_new(gwallet, cfg->gwallet_api_url, cfg->gwallet_token_url,
					 GWALLET_TIMEOUT_MS);
	if (apple || google) {
		struct card_update_worker_config ccfg = {.period_ms = cfg->apns_period_ms,
							 .retry_base_ms = cfg->apns_retry_base_ms,
							 .timeout_ms = cfg->apns_timeout_ms,
							 .apns_url = apple ? cfg->apns_url : NULL,
							 .cert_file = cfg->wallet_cert,
							 .key_file = cfg->wallet_key,
							 .google = google};
		card_updates_enable(true);
		card_updates = card_update_worker_start(st, &ccfg);
	}
	if (apple)
		log_info("Apple Wallet pass updates on: web service %s, pushes to %s", service_url,
			 cfg->apns_url);
	if (google)
		log_info("Google Wallet card updates on: %s (tokens from %s)", cfg->gwallet_api_url,
			 cfg->gwallet_token_url);
	char db_shown[512];
	store_uri_display(cfg->db, db_shown, sizeof(db_shown));
	log_info("kopilkad serving on %s (%lld threads, database %s, media %s)%s%s", cfg->listen,
		 (long long)cfg->threads, db_shown, media_dir,
		 *cfg->metrics_listen ? ", metrics on " : "", cfg->metrics_listen);

	log_info("received %s: finishing requests in flight", wait_for_stop(&signals));
	http_stop(http, 10000);
	http_stop(metrics_http, 1000);
	pthread_mutex_lock(&sw.mu);
	sw.stop = true;
	pthread_cond_signal(&sw.cv);
	pthread_mutex_unlock(&sw.mu);
	pthread_join(sweep_thread, NULL);
	webhook_worker_stop(webhooks);
	card_update_worker_stop(card_updates);
	gwallet_api_free(google);
	backup_schedule_stop(backups);
	auth_destroy(auth);
	st->ops->close(st);
	log_access_close();
	free(consent_text);
	log_info("stopped cleanly");
	return 0;
}

/* serve with the Apple Wallet signer of the --wallet-* settings and the Google Wallet one of the
 * --gwallet-* settings, loaded and checked first: a setting that is wrong stops the server before
 * it listens (exit 2). */
static int cmd_serve(const struct config *cfg)
{
	struct wallet_signer *wallet = NULL;
	struct gwallet *gwallet = NULL;
	char err[PATH_MAX + 512];
	if (wallet_signer_load(cfg, &wallet, err, sizeof(err)) == WALLET_BAD) {
		fprintf(stderr, "kopilkad serve: %s\n", err);
		return 2;
	}
	if (!gwallet_load(cfg, &gwallet, err, sizeof(err))) {
		fprintf(stderr, "kopilkad serve: %s\n", err);
		wallet_signer_free(wallet);
		return 2;
	}
	bool apns_http = strncmp(cfg->apns_url, "http://", 7) == 0;
	if (!apns_http && strncmp(cfg->apns_url, "https://", 8) != 0) {
		fprintf(stderr, "kopilkad serve: --apns-url: must be an https:// URL, not %s\n",
			cfg->apns_url);
		wallet_signer_free(wallet);
		gwallet_free(gwallet);
		return 2;
	}
	if (apns_http && !cfg->wallet_allow_http) {
		fprintf(stderr,
			"kopilkad serve: --apns-url: %s is http://; APNs is https only "
			"(--wallet-allow-http 1 allows HTTP/2 without TLS, for tests)\n",
			cfg->apns_url);
		wallet_signer_free(wallet);
		gwallet_free(gwallet);
		return 2;
	}
	if (wallet)
		log_info("Apple Wallet passes on: Pass Type ID %s", cfg->wallet_pass_type_id);
	int rc = serve(cfg, wallet, gwallet);
	gwallet_free(gwallet);
	wallet_signer_free(wallet);
	return rc;
}

static void report_problem(void *ctx, const char *problem)
{
	fprintf(ctx, "FAIL %s\n", problem);
}

/* The ledger check of the database at db: its problems, one "FAIL ..." line each, to report.
 * Returns the number of problems, or -1 when the database could not be opened or read (said
 * on stderr). */
static int64_t check_database(const struct config *cfg, const char *db, FILE *report,
			      bool skip_migration_backup)
{
	struct store *st = open_store_at(cfg, db, false, 1, skip_migration_backup);
	if (!st)
		return -1;
	struct store_conn *conn = st->ops->acquire(st);
	int64_t problems = 0;
	enum store_rc rc = STORE(conn, begin, false);
	if (rc == STORE_OK)
		rc = STORE(conn, check, now_ms(), report_problem, report, &problems);
	conn->ops->rollback(conn);
	st->ops->release(conn);
	st->ops->close(st);
	return rc == STORE_OK ? problems : -1;
}

static int cmd_check(const struct config *cfg)
{
	if (!cfg->db) {
		fprintf(stderr, "kopilkad check: --db is required\n");
		return 2;
	}
	if (store_uri_is_file(cfg->db) && access(cfg->db, F_OK) != 0) {
		fprintf(stderr, "kopilkad check: database %s does not exist\n", cfg->db);
		return 2;
	}
	int64_t problems = check_database(cfg, cfg->db, stdout, false);
	if (problems < 0) {
		fprintf(stderr, "kopilkad check: could not read the database\n");
		return 1;
	}
	if (problems) {
		printf("ledger check FAILED: %lld problem(s)\n", (long long)problems);
		return 1;
	}
	printf("ledger check passed\n");
	return 0;
}

/* Progress of a long copy on stderr: a line every PROGRESS_EVERY_US, none for a short one. */
#define PROGRESS_EVERY_US 2000000
struct progress {
	int64_t started_us, last_us;
};

static bool show_progress(void *ctx, int64_t done, int64_t total)
{
	struct progress *p = ctx;
	int64_t now = mono_us();
	if (now - p->last_us >= PROGRESS_EVERY_US && done < total) {
		p->last_us = now;
		fprintf(stderr, "kopilkad backup: %lld%% (%lld of %lld pages, %.0f s)\n",
			(long long)(total ? done * 100 / total : 100), (long long)done,
			(long long)total, (double)(now - p->started_us) / 1e6);
	}
	return true;
}

static int cmd_backup(const struct config *cfg)
{
	if (!cfg->db || !cfg->backup_out || !*cfg->db || !*cfg->backup_out) {
		fprintf(stderr, "kopilkad backup: --db and --out are required\n");
		return 2;
	}
	struct progress p = {.started_us = mono_us()};
	p.last_us = p.started_us;
	struct backup_result res;
	char err[2 * PATH_MAX + 512];
	if (!backup_copy(cfg->db, cfg->backup_out, show_progress, &p, &res, err, sizeof(err))) {
		fprintf(stderr, "kopilkad backup: %s\n", err);
		return store_uri_is_file(cfg->db) ? 1 : 2;
	}
	fprintf(stderr, "kopilkad backup: wrote %s (%lld bytes, %lld pages) in %.2f s\n",
		cfg->backup_out, (long long)res.bytes, (long long)res.pages,
		(double)res.duration_us / 1e6);
	return 0;
}

/* Restores in four steps, the database untouched until the last: refuse early when a process
 * has it open; copy the backup beside it; check the copy (a kopilka database, the ledger check
 * of `kopilkad check`); put it in place under SQLite's exclusive lock, which says again that no
 * process has the database open (backup_install). */
static int cmd_restore(const struct config *cfg)
{
	if (!cfg->db || !cfg->restore_from || !*cfg->db || !*cfg->restore_from) {
		fprintf(stderr, "kopilkad restore: --from and --db are required\n");
		return 2;
	}
	if (!store_uri_is_file(cfg->db)) {
		fprintf(stderr,
			"kopilkad restore: --db is a PostgreSQL URI: kopilkad restore puts back "
			"SQLite files. %s\n",
			BACKUP_PG_ADVICE);
		return 2;
	}
	char err[2 * PATH_MAX + 512];
	if (backup_db_in_use(cfg->db, err, sizeof(err)) != BACKUP_FREE) {
		fprintf(stderr, "kopilkad restore: %s\n", err);
		return 1;
	}
	char staged[PATH_MAX];
	int version = 0;
	if (!backup_stage(cfg->restore_from, cfg->db, sqlite_store_schema_latest(), staged,
			  sizeof(staged), &version, err, sizeof(err))) {
		fprintf(stderr, "kopilkad restore: %s; %s is left as it is\n", err, cfg->db);
		return 1;
	}
	int64_t problems = check_database(cfg, staged, stderr, true);
	if (problems != 0) {
		backup_discard(staged);
		if (problems < 0)
			fprintf(stderr,
				"kopilkad restore: --from %s could not be read as a database; "
				"%s is left as it is\n",
				cfg->restore_from, cfg->db);
		else
			fprintf(stderr,
				"kopilkad restore: --from %s fails the ledger check (%lld "
				"problem(s), above); %s is left as it is\n",
				cfg->restore_from, (long long)problems, cfg->db);
		return 1;
	}
	char kept[PATH_MAX + 64];
	if (backup_install(staged, cfg->db, kept, sizeof(kept), err, sizeof(err)) != BACKUP_FREE) {
		backup_discard(staged);
		fprintf(stderr, "kopilkad restore: %s; %s is left as it is\n", err, cfg->db);
		return 1;
	}
	if (*kept)
		fprintf(stderr, "kopilkad restore: the replaced database is kept as %s\n", kept);
	fprintf(stderr,
		"kopilkad restore: restored %s (schema version %d, ledger check passed) to %s\n",
		cfg->restore_from, version, cfg->db);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("kopilkad %s\n", KOPILKA_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "routes") == 0) {
		size_t n;
		const char *const *names = api_route_names(&n);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	int cmd = strcmp(argv[1], "init") == 0	    ? CMD_INIT
		  : strcmp(argv[1], "serve") == 0   ? CMD_SERVE
		  : strcmp(argv[1], "check") == 0   ? CMD_CHECK
		  : strcmp(argv[1], "backup") == 0  ? CMD_BACKUP
		  : strcmp(argv[1], "restore") == 0 ? CMD_RESTORE
						    : 0;
	if (!cmd) {
		fprintf(stderr, "kopilkad: unknown command \"%s\" (see kopilkad --help)\n",
			argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	if (sodium_init() < 0) {
		fprintf(stderr, "kopilkad: libsodium failed to initialise\n");
		return 1;
	}
	struct config cfg;
	if (!config_load(&cfg, cmd, argc, argv, 2, stderr)) {
		config_free(&cfg);
		return 2;
	}
	/* The settings table admits only the names these parse. */
	log_setup((enum log_level)log_level_parse(cfg.log_level),
		  (enum log_format)log_format_parse(cfg.log_format));
	clock_set_offset_ms(cfg.clock_offset_seconds * 1000);
	int status = cmd == CMD_INIT	  ? cmd_init(&cfg)
		     : cmd == CMD_SERVE	  ? cmd_serve(&cfg)
		     : cmd == CMD_BACKUP  ? cmd_backup(&cfg)
		     : cmd == CMD_RESTORE ? cmd_restore(&cfg)
					  : cmd_check(&cfg);
	config_free(&cfg);
	return status;
}
