/* Settings: one typed table (flag, environment variable, default, bounds, help) read in the
 * order default < environment < command line. Nothing else in the server reads getenv() but
 * core/log.c, for facts about where stderr goes (NO_COLOR, TERM, JOURNAL_STREAM), not settings. */
#ifndef KOPILKA_CORE_CONFIG_H
#define KOPILKA_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/util.h"

struct config {
	/* all commands */
	char *db;
	char *log_level;
	char *log_format;
	/* backup, restore */
	char *backup_out;
	char *restore_from;
	/* init */
	char *email;
	char *password;
	char *name;
	/* serve */
	char *listen;
	char *metrics_listen;
	char *access_log;
	char *docs_dir;
	char *lk_dir;
	char *media_dir;
	int64_t threads;
	int64_t write_workers;
	char *public_url;
	int64_t local_time_offset_minutes; /* the shops' local time, minutes east of UTC */
	int64_t max_connections;
	int64_t per_ip_connections;
	int64_t connection_timeout_seconds;
	int64_t request_timeout_seconds;
	int64_t auth_cache_seconds;
	int64_t argon2_concurrency;
	int64_t lockout_login_failures;
	int64_t lockout_addr_failures;
	int64_t lockout_window_seconds;
	int64_t lockout_seconds;
	int64_t lk_idle_timeout_seconds; /* the cabinet's sessions (api/session.c) */
	int64_t lk_lifetime_seconds;
	char *trusted_proxy; /* comma list of addresses whose X-Forwarded-Proto is believed */
	/* Apple Wallet passes (service/wallet.c): all "" or all set */
	char *wallet_pass_type_id;
	char *wallet_team_id;
	char *wallet_cert; /* PEM files */
	char *wallet_key;
	char *wallet_wwdr;
	int64_t wallet_allow_http; /* 0 or 1: http:// web service and APNs URLs */
	/* Apple Wallet pass updates (service/cardupdates.c) */
	char *apns_url;
	int64_t apns_period_ms;
	int64_t apns_retry_base_ms;
	int64_t apns_timeout_ms;
	int64_t expire_sweep_seconds;
	/* webhook deliveries (service/webhooks.c) */
	int64_t webhook_period_ms;
	int64_t webhook_retry_base_ms;
	int64_t webhook_timeout_ms;
	int64_t webhook_allow_private; /* 0 or 1 */
	int64_t webhook_expiring_days;
	int64_t clock_offset_seconds;
	char *backup_dir; /* "": no scheduled backups */
	int64_t backup_every_seconds;
	int64_t backup_keep;
	char *test_auth_pause_file; /* testing only: see the settings table */
	/* "Save to Google Wallet" on the card page (core/gwallet.c); "": not offered */
	char *gwallet_issuer_id;
	char *gwallet_service_account; /* path of the service account's JSON key file */
	char *gwallet_origins;	       /* comma list of origins the JWT names */
	char *gwallet_api_url;	       /* the Wallet REST API (http/gwallet_api.c) */
	char *gwallet_token_url;       /* its OAuth 2.0 token endpoint */
	/* Self-enrolment on the join page /j/{code} (handlers/enrol.c, service/sms.c) */
	char *sms_gateway; /* "log" or "http" */
	char *sms_url;
	char *sms_token;
	int64_t sms_timeout_ms;
	char *consent_version;
	char *consent_file; /* "": the built-in text */
	int64_t enrol_phone_limit;
	int64_t enrol_addr_limit;
	int64_t enrol_window_seconds;
	int64_t enrol_code_ttl_seconds;
	int64_t enrol_attempts;
	/* storage */
	char *sqlite_synchronous;
	int64_t busy_timeout_ms;
	int64_t pool_size;
	int64_t group_commit_max;
	int64_t sqlite_memory_mib;
};

/* Which commands a setting applies to (a bit mask). */
enum {
	CMD_INIT = 1,
	CMD_SERVE = 2,
	CMD_CHECK = 4,
	CMD_BACKUP = 8,
	CMD_RESTORE = 16,
	CMD_ALL = 31,
};

/* Fills cfg with the defaults, then the environment, then argv[first..argc) for command `cmd`.
 * On a bad value, an unknown flag or a flag of another command writes a message naming the
 * flag and its rule to err and returns false. cfg owns its strings: config_free(). */
bool config_load(struct config *cfg, int cmd, int argc, char **argv, int first,
		 FILE *err) MUST_CHECK;
void config_free(struct config *cfg);
/* Parses a duration: whole seconds ("90"), or numbers each followed by a unit s, m, h or d,
 * in any order and summed ("30m", "1h30m", "2d"). False on anything else, an empty text or an
 * overflow; *seconds_out is set only on success. */
bool config_parse_seconds(const char *text, int64_t *seconds_out) MUST_CHECK;
/* Prints the table: flag, environment variable, then help, default, bounds and commands
 * wrapped beneath (the layout help2man reads for the man page). */
void config_print_help(FILE *out);

#endif
