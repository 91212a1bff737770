/* The CLI's connection settings (docs/CLI.md, "Settings"): each from its flag, else its
 * environment variable, else the config file (`key = value` lines), else its default. */
#ifndef KOPILKA_CLI_SETTINGS_H
#define KOPILKA_CLI_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

/* Where a setting's value came from, in order of precedence. */
enum setting_source { FROM_DEFAULT, FROM_FILE, FROM_ENV, FROM_FLAG };

enum setting_key { SET_URL, SET_LOGIN, SET_PASSWORD, SET_TIMEOUT, SET_COUNT };

struct cli_settings {
	/* The value of each key (NULL when unset), and where it came from. Values from the file
	 * are owned by the settings (settings_free); the others point into argv/environ. */
	const char *value[SET_COUNT];
	enum setting_source source[SET_COUNT];
	char *owned[SET_COUNT];
	/* The config file read (or looked for), and whether it existed. Owned. */
	char *config_path;
	bool config_found;
};

/* The key's name in the file ("url"), flag ("--url") and environment ("KOPILKA_URL"). */
const char *settings_key_name(enum setting_key key);
const char *settings_key_flag(enum setting_key key);
const char *settings_key_env(enum setting_key key);
const char *settings_source_name(enum setting_source source);

/* Resolves every key: flags[key] (NULL: not given) over getenv over the file over the
 * default. config_flag: --config's value, or NULL for $KOPILKA_CONFIG, else
 * $XDG_CONFIG_HOME/kopilka/config, else ~/.config/kopilka/config (a default path that does not
 * exist is no error; a path given that does not exist is). Returns 0, or -1 with a message
 * naming the file, line and rule in err (a usage error). The caller calls settings_free either
 * way. */
int settings_resolve(struct cli_settings *s, const char *const flags[SET_COUNT],
		     const char *config_flag, char *err, size_t err_cap)
    __attribute__((warn_unused_result));

/* The server root from the url setting, without a trailing / or /ext/api/v1 (both accepted);
 * written into out (cap bytes). */
void settings_base_url(const struct cli_settings *s, char *out, size_t cap);

/* The timeout setting in seconds (validated by settings_resolve): the whole time a call may
 * spend, retries included. */
long settings_timeout_s(const struct cli_settings *s);

void settings_free(struct cli_settings *s);

#endif
