/* The CLI's settings: flags over environment over the config file over defaults, one key at a
 * time, so a password may live in the file while a script sets the URL in the environment. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
	const char *name, *flag, *env, *def;
} keys[SET_COUNT] = {
    [SET_URL] = {"url", "--url", "KOPILKA_URL", NULL},
    [SET_LOGIN] = {"login", "--login", "KOPILKA_LOGIN", NULL},
    [SET_PASSWORD] = {"password", "--password", "KOPILKA_PASSWORD", NULL},
    [SET_TIMEOUT] = {"timeout", "--timeout", "KOPILKA_TIMEOUT", "30"},
};

#define TIMEOUT_MAX_S 3600

const char *settings_key_name(enum setting_key key)
{
	return keys[key].name;
}

const char *settings_key_flag(enum setting_key key)
{
	return keys[key].flag;
}

const char *settings_key_env(enum setting_key key)
{
	return keys[key].env;
}

const char *settings_source_name(enum setting_source source)
{
	static const char *const names[] = {"default", "file", "env", "flag"};
	return names[source];
}

static char *trim(char *text)
{
	while (isspace((unsigned char)*text))
		text++;
	size_t n = strlen(text);
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	return text;
}

static char *default_config_path(void)
{
	const char *env = getenv("KOPILKA_CONFIG");
	if (env && *env)
		return strdup(env);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char path[4096];
	if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/kopilka/config", xdg);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.config/kopilka/config", home);
	else
		return NULL;
	return strdup(path);
}

/* Reads the file's `key = value` lines into s->owned (blank lines and # comments skipped; a
 * value may be wrapped in double quotes to keep its outer spaces). */
static int read_file(struct cli_settings *s, bool required, char *err, size_t cap)
{
	FILE *f = fopen(s->config_path, "r");
	if (!f) {
		if (errno == ENOENT && !required)
			return 0;
		snprintf(err, cap, "config file %s: %s", s->config_path, strerror(errno));
		return -1;
	}
	s->config_found = true;
	int rc = 0;
	char line[4096];
	for (int number = 1; fgets(line, sizeof(line), f); number++) {
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, cap, "config file %s line %d: longer than %zu bytes",
				 s->config_path, number, sizeof(line) - 2);
			rc = -1;
			break;
		}
		char *text = trim(line);
		if (*text == '\0' || *text == '#')
			continue;
		char *eq = strchr(text, '=');
		if (!eq) {
			snprintf(err, cap, "config file %s line %d: not `key = value`",
				 s->config_path, number);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *name = trim(text), *value = trim(eq + 1);
		size_t len = strlen(value);
		if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
			value[len - 1] = '\0';
			value++;
		}
		int key = -1;
		for (int k = 0; k < SET_COUNT; k++)
			if (strcmp(name, keys[k].name) == 0)
				key = k;
		if (key < 0) {
			snprintf(err, cap,
				 "config file %s line %d: unknown key '%s' (url, login, password, "
				 "timeout)",
				 s->config_path, number, name);
			rc = -1;
			break;
		}
		free(s->owned[key]);
		s->owned[key] = strdup(value);
		if (!s->owned[key]) {
			snprintf(err, cap, "out of memory");
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

int settings_resolve(struct cli_settings *s, const char *const flags[SET_COUNT],
		     const char *config_flag, char *err, size_t err_cap)
{
	memset(s, 0, sizeof(*s));
	s->config_path = config_flag ? strdup(config_flag) : default_config_path();
	if (s->config_path && read_file(s, config_flag != NULL, err, err_cap) != 0)
		return -1;
	for (int k = 0; k < SET_COUNT; k++) {
		const char *env = getenv(keys[k].env);
		if (flags[k]) {
			s->value[k] = flags[k];
			s->source[k] = FROM_FLAG;
		} else if (env && *env) {
			s->value[k] = env;
			s->source[k] = FROM_ENV;
		} else if (s->owned[k]) {
			s->value[k] = s->owned[k];
			s->source[k] = FROM_FILE;
		} else {
			s->value[k] = keys[k].def;
			s->source[k] = FROM_DEFAULT;
		}
	}
	const char *url = s->value[SET_URL];
	if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, err_cap, "url (%s %s): must start with http:// or https://",
			 settings_source_name(s->source[SET_URL]), url);
		return -1;
	}
	const char *timeout = s->value[SET_TIMEOUT];
	char *end;
	errno = 0;
	long seconds = strtol(timeout, &end, 10);
	if (errno || end == timeout || *end || seconds < 1 || seconds > TIMEOUT_MAX_S) {
		snprintf(err, err_cap, "timeout (%s %s): must be whole seconds, 1 to %d",
			 settings_source_name(s->source[SET_TIMEOUT]), timeout, TIMEOUT_MAX_S);
		return -1;
	}
	return 0;
}

void settings_base_url(const struct cli_settings *s, char *out, size_t cap)
{
	snprintf(out, cap, "%s", s->value[SET_URL] ? s->value[SET_URL] : "");
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	static const char api[] = "/ext/api/v1";
	if (n >= sizeof(api) - 1 && strcmp(out + n - (sizeof(api) - 1), api) == 0)
		out[n - (sizeof(api) - 1)] = '\0';
}

long settings_timeout_s(const struct cli_settings *s)
{
	return strtol(s->value[SET_TIMEOUT], NULL, 10);
}

void settings_free(struct cli_settings *s)
{
	for (int k = 0; k < SET_COUNT; k++)
		free(s->owned[k]);
	free(s->config_path);
	memset(s, 0, sizeof(*s));
}
