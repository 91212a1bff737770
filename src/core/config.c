/* The settings table and its loader (see config.h). Add a setting by adding a row. */
#include "core/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* SET_SECONDS: a duration kept in seconds, written as seconds or with a unit
 * (config_parse_seconds). */
enum setting_type { SET_STR, SET_INT, SET_SECONDS };

struct setting {
	const char *flag; /* "--db" */
	const char *env;  /* "KOPILKA_DB" */
	enum setting_type type;
	size_t offset;	     /* into struct config */
	const char *def;     /* default as text; NULL = unset */
	int64_t min, max;    /* SET_INT bounds */
	const char *choices; /* SET_STR: "a|b|c" or NULL for free text */
	int commands;
	const char *help;
};

#define STR(field) SET_STR, offsetof(struct config, field)
#define INT(field) SET_INT, offsetof(struct config, field)
#define SECONDS(field) SET_SECONDS, offsetof(struct config, field)

static const struct setting settings[] = {
    {"--db", "KOPILKA_DB", STR(db), NULL, 0, 0, NULL, CMD_ALL,
     "database: a file path (SQLite, created by init) or a postgresql:// URI"},
    {"--out", "KOPILKA_BACKUP_OUT", STR(backup_out), NULL, 0, 0, NULL, CMD_BACKUP,
     "file the backup is written to (replaced atomically when it exists)"},
    {"--from", "KOPILKA_RESTORE_FROM", STR(restore_from), NULL, 0, 0, NULL, CMD_RESTORE,
     "backup file to restore (checked before it replaces --db)"},
    {"--log-level", "KOPILKA_LOG_LEVEL", STR(log_level), "info", 0, 0, "debug|info|warn|error",
     CMD_ALL, "least severe log level written to stderr"},
    {"--log-format", "KOPILKA_LOG_FORMAT", STR(log_format), "auto", 0, 0, "auto|json|text", CMD_ALL,
     "log lines as JSON objects or short text for a person; auto: text on a terminal, JSON "
     "otherwise (files, pipes, journald)"},
    {"--email", "KOPILKA_EMAIL", STR(email), NULL, 0, 0, NULL, CMD_INIT,
     "owner account's email (the Basic auth login)"},
    {"--password", "KOPILKA_PASSWORD", STR(password), NULL, 0, 0, NULL, CMD_INIT,
     "owner account's password, at least 8 characters"},
    {"--name", "KOPILKA_NAME", STR(name), NULL, 0, 0, NULL, CMD_INIT, "merchant's name"},
    {"--listen", "KOPILKA_LISTEN", STR(listen), "127.0.0.1:8080", 0, 0, NULL, CMD_SERVE,
     "HOST:PORT to serve the API on (IPv4 address)"},
    {"--metrics-listen", "KOPILKA_METRICS_LISTEN", STR(metrics_listen), "", 0, 0, NULL, CMD_SERVE,
     "HOST:PORT serving GET /metrics alone; empty: /metrics on --listen"},
    {"--access-log", "KOPILKA_ACCESS_LOG", STR(access_log), "", 0, 0, NULL, CMD_SERVE,
     "file the access log lines are appended to (reopened on SIGHUP); empty: stderr"},
    {"--docs-dir", "KOPILKA_DOCS_DIR", STR(docs_dir), "", 0, 0, NULL, CMD_SERVE,
     "directory of the API docs page assets; empty: docs/ beside the binary, else "
     "../share/kopilka/docs from it"},
    {"--lk-dir", "KOPILKA_LK_DIR", STR(lk_dir), "", 0, 0, NULL, CMD_SERVE,
     "directory of the merchant cabinet's assets (/lk/); empty: lk/ beside the binary, else "
     "../share/kopilka/lk from it"},
    {"--media-dir", "KOPILKA_MEDIA_DIR", STR(media_dir), "", 0, 0, NULL, CMD_SERVE,
     "directory of uploaded images (logos, coupon images); empty: media/ beside a SQLite "
     "database, ./media for PostgreSQL"},
    {"--threads", "KOPILKA_THREADS", INT(threads), "8", 1, 256, NULL, CMD_SERVE,
     "HTTP worker threads"},
    {"--write-workers", "KOPILKA_WRITE_WORKERS", INT(write_workers), "32", 0, 1024, NULL, CMD_SERVE,
     "threads running POST/PUT/DELETE off the HTTP threads (0: on them)"},
    {"--public-url", "KOPILKA_PUBLIC_URL", STR(public_url), "http://127.0.0.1:8080", 0, 0, NULL,
     CMD_SERVE, "base URL of receipt links (publicURL) and card links (cardURL)"},
    {"--local-time-offset-minutes", "KOPILKA_LOCAL_TIME_OFFSET", INT(local_time_offset_minutes),
     "180", -720, 840, NULL, CMD_SERVE,
     "the shops' local time in minutes east of UTC (Moscow: 180): times on the receipt and card "
     "pages and in the fiscal receipt's QR code"},
    {"--max-connections", "KOPILKA_MAX_CONNECTIONS", INT(max_connections), "1024", 1, 65536, NULL,
     CMD_SERVE, "open connections accepted at once"},
    {"--per-ip-connections", "KOPILKA_PER_IP_CONNECTIONS", INT(per_ip_connections), "256", 1, 65536,
     NULL, CMD_SERVE, "open connections accepted from one address"},
    {"--connection-timeout-seconds", "KOPILKA_CONNECTION_TIMEOUT", INT(connection_timeout_seconds),
     "30", 1, 3600, NULL, CMD_SERVE,
     "idle connection timeout: a connection that sends and receives nothing this long is closed"},
    {"--request-timeout-seconds", "KOPILKA_REQUEST_TIMEOUT", INT(request_timeout_seconds), "30", 1,
     3600, NULL, CMD_SERVE,
     "whole-request deadline: a request whose headers and body have not all arrived this long "
     "after the connection opened (or after the previous answer on it) is closed"},
    {"--auth-cache-seconds", "KOPILKA_AUTH_CACHE_SECONDS", INT(auth_cache_seconds), "60", 0, 3600,
     NULL, CMD_SERVE, "how long a verified credential is remembered (0: never)"},
    {"--argon2-concurrency", "KOPILKA_ARGON2_CONCURRENCY", INT(argon2_concurrency), "2", 1, 64,
     NULL, CMD_SERVE, "password hashes verified at once (each takes 64 MiB)"},
    {"--lockout-login-failures", "KOPILKA_LOCKOUT_LOGIN_FAILURES", INT(lockout_login_failures),
     "10", 1, 1000000, NULL, CMD_SERVE, "failed logins for one login that lock it"},
    {"--lockout-addr-failures", "KOPILKA_LOCKOUT_ADDR_FAILURES", INT(lockout_addr_failures), "100",
     1, 1000000, NULL, CMD_SERVE, "failed logins from one address that lock it"},
    {"--lockout-window-seconds", "KOPILKA_LOCKOUT_WINDOW", INT(lockout_window_seconds), "300", 1,
     86400, NULL, CMD_SERVE, "window in which failures are counted"},
    {"--lockout-seconds", "KOPILKA_LOCKOUT_SECONDS", INT(lockout_seconds), "300", 1, 86400, NULL,
     CMD_SERVE, "how long a lock lasts (answered 429 with Retry-After)"},
    {"--lk-idle-timeout", "KOPILKA_LK_IDLE_TIMEOUT", SECONDS(lk_idle_timeout_seconds), "30m", 1,
     604800, NULL, CMD_SERVE,
     "the merchant cabinet's sessions end after this long without a request: seconds, or a "
     "number with s, m, h or d"},
    {"--lk-lifetime", "KOPILKA_LK_LIFETIME", SECONDS(lk_lifetime_seconds), "12h", 1, 2592000, NULL,
     CMD_SERVE,
     "the merchant cabinet's sessions end this long after sign-in, however busy: seconds, or a "
     "number with s, m, h or d"},
    {"--trusted-proxy", "KOPILKA_TRUSTED_PROXY", STR(trusted_proxy), "", 0, 0, NULL, CMD_SERVE,
     "comma list of IP addresses of reverse proxies whose X-Forwarded-Proto: https is believed "
     "(the cabinet's cookie is then Secure); empty: none"},
    {"--wallet-pass-type-id", "KOPILKA_WALLET_PASS_TYPE_ID", STR(wallet_pass_type_id), "", 0, 0,
     NULL, CMD_SERVE,
     "Apple Wallet: the Pass Type ID of the pass certificate (pass.com.example.loyalty); the "
     "five --wallet-* settings are set all together or not at all; none: no passes"},
    {"--wallet-team-id", "KOPILKA_WALLET_TEAM_ID", STR(wallet_team_id), "", 0, 0, NULL, CMD_SERVE,
     "Apple Wallet: the Team ID (10 characters) of the Apple developer account"},
    {"--wallet-cert", "KOPILKA_WALLET_CERT", STR(wallet_cert), "", 0, 0, NULL, CMD_SERVE,
     "Apple Wallet: PEM file of the Pass Type ID certificate that signs the passes"},
    {"--wallet-key", "KOPILKA_WALLET_KEY", STR(wallet_key), "", 0, 0, NULL, CMD_SERVE,
     "Apple Wallet: PEM file of the certificate's private key (not encrypted)"},
    {"--wallet-wwdr", "KOPILKA_WALLET_WWDR", STR(wallet_wwdr), "", 0, 0, NULL, CMD_SERVE,
     "Apple Wallet: PEM file of Apple's WWDR intermediate certificate that issued --wallet-cert"},
    {"--wallet-allow-http", "KOPILKA_WALLET_ALLOW_HTTP", INT(wallet_allow_http), "0", 0, 1, NULL,
     CMD_SERVE,
     "1: passes carry the update web service at an http:// --public-url and pushes may go to "
     "an http:// --apns-url (HTTP/2 without TLS: tests, development); 0: Apple's rule, https "
     "only (an http:// --public-url gives passes that never update)"},
    {"--apns-url", "KOPILKA_APNS_URL", STR(apns_url), "https://api.push.apple.com", 0, 0, NULL,
     CMD_SERVE,
     "Apple Wallet: base URL of Apple's push service (APNs) that tells devices a pass changed; "
     "the sandbox is https://api.sandbox.push.apple.com"},
    {"--apns-period-ms", "KOPILKA_APNS_PERIOD_MS", INT(apns_period_ms), "1000", 10, 600000, NULL,
     CMD_SERVE, "how often the pass update worker looks for due pushes when it found none"},
    {"--apns-retry-base-ms", "KOPILKA_APNS_RETRY_BASE_MS", INT(apns_retry_base_ms), "10000", 1,
     3600000, NULL, CMD_SERVE,
     "wait after a pass update's first failed push; each later one waits twice the last (at "
     "most 1 h, with jitter) for 1 day, then the update is given up"},
    {"--apns-timeout-ms", "KOPILKA_APNS_TIMEOUT_MS", INT(apns_timeout_ms), "10000", 100, 120000,
     NULL, CMD_SERVE, "deadline of one push to APNs, connecting included"},
    {"--expire-sweep-seconds", "KOPILKA_EXPIRE_SWEEP_SECONDS", INT(expire_sweep_seconds), "60", 1,
     86400, NULL, CMD_SERVE, "interval of the sweep writing expired lots to the ledger"},
    {"--webhook-period-ms", "KOPILKA_WEBHOOK_PERIOD_MS", INT(webhook_period_ms), "1000", 10, 600000,
     NULL, CMD_SERVE, "how often the webhook worker looks for due deliveries when it found none"},
    {"--webhook-retry-base-ms", "KOPILKA_WEBHOOK_RETRY_BASE_MS", INT(webhook_retry_base_ms),
     "10000", 1, 3600000, NULL, CMD_SERVE,
     "wait after a webhook delivery's first failed attempt; each later one waits twice the "
     "last (at most 1 h, with jitter) for 3 days, then the delivery is failed"},
    {"--webhook-timeout-ms", "KOPILKA_WEBHOOK_TIMEOUT_MS", INT(webhook_timeout_ms), "10000", 100,
     120000, NULL, CMD_SERVE, "deadline of one webhook delivery attempt, connecting included"},
    {"--webhook-allow-private", "KOPILKA_WEBHOOK_ALLOW_PRIVATE", INT(webhook_allow_private), "0", 0,
     1, NULL, CMD_SERVE,
     "1: webhooks may be delivered to loopback, link-local and private addresses (testing, "
     "an internal receiver); 0: refused, checked on the resolved address"},
    {"--webhook-expiring-days", "KOPILKA_WEBHOOK_EXPIRING_DAYS", INT(webhook_expiring_days), "7", 1,
     365, NULL, CMD_SERVE, "points.expiring is sent this many days before a lot expires"},
    {"--clock-offset-seconds", "KOPILKA_CLOCK_OFFSET_SECONDS", INT(clock_offset_seconds), "0",
     -315360000, 315360000, NULL, CMD_SERVE | CMD_CHECK,
     "shifts the server's clock (for testing expiry only)"},
    {"--test-auth-pause-file", "KOPILKA_TEST_AUTH_PAUSE_FILE", STR(test_auth_pause_file), "", 0, 0,
     NULL, CMD_SERVE,
     "testing only: while this file exists, a credential check pauses (up to 60 s) after its "
     "Argon2 or key verification, so a test can revoke the credential mid-check; empty: never"},
    {"--gwallet-issuer-id", "KOPILKA_GWALLET_ISSUER_ID", STR(gwallet_issuer_id), "", 0, 0, NULL,
     CMD_SERVE,
     "Google Wallet: the issuer id (digits) of the Google Pay & Wallet Console; with "
     "--gwallet-service-account the card page offers \"Add to Google Wallet\"; empty: not offered"},
    {"--gwallet-service-account", "KOPILKA_GWALLET_SERVICE_ACCOUNT", STR(gwallet_service_account),
     "", 0, 0, NULL, CMD_SERVE,
     "Google Wallet: path of the service account's JSON key file (client_email, private_key, "
     "private_key_id) that signs the save links; read and checked at start-up"},
    {"--gwallet-origins", "KOPILKA_GWALLET_ORIGINS", STR(gwallet_origins), "", 0, 0, NULL,
     CMD_SERVE,
     "Google Wallet: comma list of origins (https://host) the save links name in their "
     "\"origins\" claim; empty: none"},
    {"--gwallet-api-url", "KOPILKA_GWALLET_API_URL", STR(gwallet_api_url),
     "https://walletobjects.googleapis.com", 0, 0, NULL, CMD_SERVE,
     "Google Wallet: base URL of the Wallet REST API the balance updates of saved cards go to"},
    {"--gwallet-token-url", "KOPILKA_GWALLET_TOKEN_URL", STR(gwallet_token_url),
     "https://oauth2.googleapis.com/token", 0, 0, NULL, CMD_SERVE,
     "Google Wallet: the OAuth 2.0 token endpoint the service account gets its access tokens "
     "from"},
    {"--sms-gateway", "KOPILKA_SMS_GATEWAY", STR(sms_gateway), "log", 0, 0, "log|http", CMD_SERVE,
     "how the join page's one-time codes are sent: log writes them to the server's log "
     "(development only), http POSTs {\"phone\", \"text\"} as JSON to --sms-url"},
    {"--sms-url", "KOPILKA_SMS_URL", STR(sms_url), "", 0, 0, NULL, CMD_SERVE,
     "the SMS provider's http(s) URL that --sms-gateway http POSTs each code to (required "
     "then)"},
    {"--sms-token", "KOPILKA_SMS_TOKEN", STR(sms_token), "", 0, 0, NULL, CMD_SERVE,
     "sent to --sms-url as Authorization: Bearer TOKEN; empty: no Authorization header"},
    {"--sms-timeout-ms", "KOPILKA_SMS_TIMEOUT_MS", INT(sms_timeout_ms), "10000", 100, 60000, NULL,
     CMD_SERVE, "deadline of one request to --sms-url, connecting included"},
    {"--consent-version", "KOPILKA_CONSENT_VERSION", STR(consent_version), "1", 0, 0, NULL,
     CMD_SERVE,
     "the version of the personal-data consent text the join page shows, stored with each "
     "client who accepts it (1 to 64 characters); change it with the text"},
    {"--consent-file", "KOPILKA_CONSENT_FILE", STR(consent_file), "", 0, 0, NULL, CMD_SERVE,
     "UTF-8 text file of the consent to personal-data processing the join page shows (at most "
     "16 KiB; blank lines split paragraphs); empty: the built-in text"},
    {"--enrol-phone-limit", "KOPILKA_ENROL_PHONE_LIMIT", INT(enrol_phone_limit), "3", 1, 1000, NULL,
     CMD_SERVE, "one-time codes sent to one phone within --enrol-window; more: 429"},
    {"--enrol-addr-limit", "KOPILKA_ENROL_ADDR_LIMIT", INT(enrol_addr_limit), "20", 1, 100000, NULL,
     CMD_SERVE, "one-time codes asked for from one client address within --enrol-window"},
    {"--enrol-window", "KOPILKA_ENROL_WINDOW", SECONDS(enrol_window_seconds), "1h", 60, 604800,
     NULL, CMD_SERVE,
     "the window the --enrol-*-limit settings count in: seconds, or a number with s, m, h or d"},
    {"--enrol-code-ttl", "KOPILKA_ENROL_CODE_TTL", SECONDS(enrol_code_ttl_seconds), "10m", 60,
     86400, NULL, CMD_SERVE, "how long a one-time code of the join page can be entered"},
    {"--enrol-attempts", "KOPILKA_ENROL_ATTEMPTS", INT(enrol_attempts), "5", 1, 100, NULL,
     CMD_SERVE, "wrong codes after which a one-time code stops being accepted"},
    {"--backup-dir", "KOPILKA_BACKUP_DIR", STR(backup_dir), "", 0, 0, NULL, CMD_SERVE,
     "SQLite: directory of scheduled backups (kopilka-backup-*.db); empty: no schedule"},
    {"--backup-every", "KOPILKA_BACKUP_EVERY", SECONDS(backup_every_seconds), "1h", 1, 31536000,
     NULL, CMD_SERVE,
     "interval between scheduled backups: seconds, or a number with s, m, h or d (30m, 6h)"},
    {"--backup-keep", "KOPILKA_BACKUP_KEEP", INT(backup_keep), "24", 1, 100000, NULL, CMD_SERVE,
     "scheduled backups kept in --backup-dir: the newest N, older ones deleted"},
    {"--sqlite-synchronous", "KOPILKA_SQLITE_SYNCHRONOUS", STR(sqlite_synchronous), "full", 0, 0,
     "full|normal", CMD_ALL, "SQLite durability: full survives power loss"},
    {"--busy-timeout-ms", "KOPILKA_BUSY_TIMEOUT_MS", INT(busy_timeout_ms), "10000", 0, 600000, NULL,
     CMD_ALL, "how long a write waits for the database lock"},
    {"--pool-size", "KOPILKA_POOL_SIZE", INT(pool_size), "0", 0, 256, NULL, CMD_SERVE,
     "database connections (0: threads + write workers + 3; PostgreSQL: at most 2 x threads + 2)"},
    {"--group-commit-max", "KOPILKA_GROUP_COMMIT_MAX", INT(group_commit_max), "64", 1, 1024, NULL,
     CMD_ALL, "SQLite: most concurrent writes sharing one commit (1: a commit per write)"},
    {"--sqlite-memory-mib", "KOPILKA_SQLITE_MEMORY_MIB", INT(sqlite_memory_mib), "64", 0, 65536,
     NULL, CMD_ALL,
     "SQLite: page caches of all connections together, a soft bound (0: none; each "
     "connection's own cache is at most 8 MiB, the writer's 32 MiB)"},
};

static char **str_field(struct config *cfg, const struct setting *s)
{
	return (char **)((char *)cfg + s->offset);
}

static int64_t *int_field(struct config *cfg, const struct setting *s)
{
	return (int64_t *)((char *)cfg + s->offset);
}

static bool choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

bool config_parse_seconds(const char *text, int64_t *seconds_out)
{
	static const struct {
		char unit;
		int64_t seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	size_t digits = strspn(text, "0123456789");
	bool bare = digits > 0 && text[digits] == '\0'; /* whole seconds */
	int64_t total = 0;
	const char *p = text;
	if (!*p)
		return false;
	while (*p) {
		if (*p < '0' || *p > '9')
			return false;
		int64_t n = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (n > (INT64_MAX - 9) / 10)
				return false;
			n = n * 10 + (*p - '0');
		}
		int64_t scale = bare ? 1 : 0;
		for (size_t i = 0; !bare && i < ARRAY_LEN(units); i++)
			if (*p == units[i].unit)
				scale = units[i].seconds;
		if (!scale)
			return false;
		if (!bare)
			p++;
		if (n > (INT64_MAX - total) / scale)
			return false;
		total += n * scale;
	}
	*seconds_out = total;
	return true;
}

static bool set_value(struct config *cfg, const struct setting *s, const char *v,
		      const char *source, FILE *err)
{
	if (s->type == SET_STR) {
		if (s->choices && !choice_ok(s->choices, v)) {
			fprintf(err, "%s: %s must be one of %s, got \"%s\"\n", source, s->flag,
				s->choices, v);
			return false;
		}
		char **f = str_field(cfg, s);
		free(*f);
		*f = xstrdup(v);
		return true;
	}
	int64_t n;
	if (s->type == SET_SECONDS) {
		if (!config_parse_seconds(v, &n)) {
			fprintf(err,
				"%s: %s must be a duration: seconds, or a number with s, m, h or d "
				"(30m, 6h), got \"%s\"\n",
				source, s->flag, v);
			return false;
		}
	} else {
		char *end;
		errno = 0;
		long long parsed = strtoll(v, &end, 10);
		if (errno || end == v || *end != '\0') {
			fprintf(err, "%s: %s must be an integer, got \"%s\"\n", source, s->flag, v);
			return false;
		}
		n = parsed;
	}
	if (n < s->min || n > s->max) {
		fprintf(
		    err, "%s: %s must be between %" PRId64 " and %" PRId64 "%s, got %" PRId64 "\n",
		    source, s->flag, s->min, s->max, s->type == SET_SECONDS ? " seconds" : "", n);
		return false;
	}
	*int_field(cfg, s) = n;
	return true;
}

bool config_load(struct config *cfg, int cmd, int argc, char **argv, int first, FILE *err)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_LEN(settings); i++)
		if (settings[i].def &&
		    !set_value(cfg, &settings[i], settings[i].def, "default", err))
			return false;
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const char *v = getenv(settings[i].env);
		if (v && (settings[i].commands & cmd) &&
		    !set_value(cfg, &settings[i], v, settings[i].env, err))
			return false;
	}
	for (int a = first; a < argc; a++) {
		const char *arg = argv[a];
		const char *eq = strchr(arg, '=');
		size_t flag_len = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct setting *s = NULL;
		for (size_t i = 0; i < ARRAY_LEN(settings); i++)
			if (strlen(settings[i].flag) == flag_len &&
			    strncmp(settings[i].flag, arg, flag_len) == 0)
				s = &settings[i];
		if (!s) {
			fprintf(err, "unknown option \"%.*s\" (see kopilkad --help)\n",
				(int)flag_len, arg);
			return false;
		}
		if (!(s->commands & cmd)) {
			fprintf(err, "option %s does not apply to this command\n", s->flag);
			return false;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v) {
			if (a + 1 >= argc) {
				fprintf(err, "option %s needs a value\n", s->flag);
				return false;
			}
			v = argv[++a];
		}
		if (!set_value(cfg, s, v, "command line", err))
			return false;
	}
	return true;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < ARRAY_LEN(settings); i++)
		if (settings[i].type == SET_STR)
			free(*str_field(cfg, &settings[i]));
	memset(cfg, 0, sizeof(*cfg));
}

/* Writes text as lines of at most HELP_WIDTH columns, each indented HELP_INDENT spaces: the
 * layout help2man turns into a tagged paragraph of the man page. */
#define HELP_INDENT 22
#define HELP_WIDTH 79
static void print_wrapped(FILE *out, const char *text)
{
	const char *p = text;
	while (*p) {
		size_t room = HELP_WIDTH - HELP_INDENT, len = strlen(p);
		if (len > room) {
			len = room;
			while (len > 0 && p[len] != ' ')
				len--;
			if (len == 0) /* one word longer than the line */
				len = strcspn(p, " ");
		}
		fprintf(out, "%*s%.*s\n", HELP_INDENT, "", (int)len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
}

void config_print_help(FILE *out)
{
	fprintf(out, "Settings (flag, environment variable):\n");
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		const struct setting *s = &settings[i];
		static const char *const names[] = {"init", "serve", "check", "backup", "restore"};
		char cmds[64] = "all commands";
		if (s->commands != CMD_ALL) {
			size_t len = 0;
			cmds[0] = '\0';
			for (size_t b = 0; b < ARRAY_LEN(names); b++)
				if (s->commands & (1 << b))
					len += (size_t)snprintf(cmds + len, sizeof(cmds) - len,
								"%s%s", len ? ", " : "", names[b]);
		}
		char text[1024], bounds[128] = "";
		if (s->type == SET_INT)
			snprintf(bounds, sizeof(bounds), "; %" PRId64 "..%" PRId64, s->min, s->max);
		else if (s->type == SET_SECONDS)
			snprintf(bounds, sizeof(bounds),
				 "; %" PRId64 "..%" PRId64
				 " seconds, or with units s, m, h, d (30m, 1h30m)",
				 s->min, s->max);
		else if (s->choices)
			snprintf(bounds, sizeof(bounds), "; one of %s", s->choices);
		snprintf(text, sizeof(text), "%s. Default: %s%s. [%s]", s->help,
			 !s->def   ? "none"
			 : *s->def ? s->def
				   : "empty",
			 bounds, cmds);
		fprintf(out, "  %s, %s\n", s->flag, s->env);
		print_wrapped(out, text);
	}
}
