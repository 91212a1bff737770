/* kopilka: the command-line client of the kopilka API for integrators and operators
 * (docs/CLI.md). Parses `kopilka [OPTIONS] COMMAND [ARGS] [OPTIONS]`, resolves the settings and
 * runs the command; every way out is one of the exit codes of enum cli_exit. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef KOPILKA_VERSION
#define KOPILKA_VERSION "0"
#endif

/* The options every command takes, before or after the command's words. */
enum { OPT_URL = 256, OPT_LOGIN, OPT_PASSWORD, OPT_TIMEOUT, OPT_CONFIG, OPT_JSON, OPT_COMMAND };

static const struct option common_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"login", required_argument, NULL, OPT_LOGIN},
    {"password", required_argument, NULL, OPT_PASSWORD},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};

static const char common_help[] =
    "  --url URL            the server, e.g. http://127.0.0.1:8080 (KOPILKA_URL; config: url)\n"
    "  --login LOGIN        the account's email or phone (KOPILKA_LOGIN; config: login)\n"
    "  --password PASSWORD  its password or an API key (KOPILKA_PASSWORD; config: password)\n"
    "  --timeout SECONDS    the longest a call may take, retries included; default 30\n"
    "                       (KOPILKA_TIMEOUT; config: timeout)\n"
    "  --config FILE        the config file of `key = value` lines; default\n"
    "                       $KOPILKA_CONFIG, else ~/.config/kopilka/config\n"
    "  --json               print JSON for scripts instead of text for people\n"
    "  -h, --help           show the help (of a command: kopilka COMMAND --help)\n"
    "  -V, --version        show the version\n";

static const char exit_help[] =
    "Exit status:\n"
    "  0   done\n"
    "  1   refused by the server (validation, a business rule, access)\n"
    "  2   usage: a bad command line, option or config file\n"
    "  3   the server could not be reached (a network error, or 5xx/429 past\n"
    "      the retries); with an outbox the order is queued, not lost\n"
    "  4   other failure (an answer not understood, a local file, memory)\n";

/* Every command, by group; the help lists them in this order. */
static const struct cli_command *const groups[] = {
    cli_api_commands,
    cli_listen_commands,
    cli_config_commands,
};

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kopilka: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return code;
}

void cli_print_json(const json_t *value)
{
	json_dumpf(value, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	fflush(stdout);
}

const char *cli_value(const struct cli *cli, const char *name)
{
	const struct cli_option *o = cli->command->options;
	for (int i = 0; o && o[i].name; i++)
		if (strcmp(o[i].name, name) == 0)
			return cli->values[i];
	return NULL;
}

static void print_main_help(FILE *out)
{
	fprintf(out, "Usage: kopilka [OPTIONS] COMMAND [ARGS...]\n"
		     "The command-line client of the kopilka loyalty API: find clients, show a "
		     "balance,\npost orders (through an offline outbox), manage webhook "
		     "deliveries and receive\nsigned webhooks while developing an integration.\n\n"
		     "Commands:\n");
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const struct cli_command *c = groups[g]; c->words; c++) {
			char usage[128];
			snprintf(usage, sizeof(usage), "%s%s%s", c->words, *c->args ? " " : "",
				 c->args);
			fprintf(out, "  %-34s %s\n", usage, c->summary);
		}
	fprintf(out, "\nOptions (of every command):\n%s\n%s", common_help, exit_help);
	fprintf(out, "\nSettings come from the flags, else the environment, else the config "
		     "file.\nDocumentation: docs/CLI.md, or man kopilka.\n");
}

static void print_command_help(const struct cli_command *c)
{
	printf("Usage: kopilka %s%s%s [OPTIONS]\n%s\n", c->words, *c->args ? " " : "", c->args,
	       c->summary);
	if (c->help)
		printf("\n%s", c->help);
	if (c->options && c->options[0].name) {
		printf("\nOptions:\n");
		for (const struct cli_option *o = c->options; o->name; o++) {
			char flag[64];
			snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
			printf("  %-24s %s\n", flag, o->help);
		}
	}
	printf("\nOptions of every command:\n%s\n%s", common_help, exit_help);
}

/* The number of words of c matching argv from its start (all of them, else 0). */
static int match_words(const struct cli_command *c, char **words, int n)
{
	char copy[128];
	snprintf(copy, sizeof(copy), "%s", c->words);
	int matched = 0;
	for (char *save, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (matched >= n || strcmp(words[matched], w) != 0)
			return 0;
		matched++;
	}
	return matched;
}

/* The commands whose first word is group, for `kopilka clients` alone. */
static bool print_group(FILE *out, const char *group)
{
	bool any = false;
	size_t len = strlen(group);
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (const struct cli_command *c = groups[g]; c->words; c++)
			if (strncmp(c->words, group, len) == 0 &&
			    (c->words[len] == ' ' || c->words[len] == '\0')) {
				if (!any)
					fprintf(out, "Commands of %s:\n", group);
				any = true;
				fprintf(out, "  kopilka %s %s\n      %s\n", c->words, c->args,
					c->summary);
			}
	return any;
}

struct parsed {
	const char *flags[SET_COUNT];
	const char *config;
	bool help, version;
};

/* Handles a common option; false for one that is not. */
static bool common_option(int opt, struct parsed *p, struct cli *cli)
{
	switch (opt) {
	case OPT_URL:
		p->flags[SET_URL] = optarg;
		return true;
	case OPT_LOGIN:
		p->flags[SET_LOGIN] = optarg;
		return true;
	case OPT_PASSWORD:
		p->flags[SET_PASSWORD] = optarg;
		return true;
	case OPT_TIMEOUT:
		p->flags[SET_TIMEOUT] = optarg;
		return true;
	case OPT_CONFIG:
		p->config = optarg;
		return true;
	case OPT_JSON:
		cli->json = true;
		return true;
	case 'h':
		p->help = true;
		return true;
	case 'V':
		p->version = true;
		return true;
	default:
		return false;
	}
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	struct parsed p = {0};
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The options before the command's words. */
	struct option first[sizeof(common_options) / sizeof(common_options[0]) + 1] = {0};
	memcpy(first, common_options, sizeof(common_options));
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+hV", first, NULL)) != -1)
		if (!common_option(opt, &p, &cli))
			return cli_fail(CLI_USAGE,
					"unknown option or missing argument: %s (see "
					"kopilka --help)",
					argv[optind - 1]);
	if (p.version) {
		printf("kopilka %s\n", KOPILKA_VERSION);
		return CLI_OK;
	}
	char **words = argv + optind;
	int n_words = argc - optind;
	if (n_words == 0) {
		print_main_help(p.help ? stdout : stderr);
		return p.help ? CLI_OK : CLI_USAGE;
	}
	int used = 0;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]) && !cli.command; g++)
		for (const struct cli_command *c = groups[g]; c->words && !cli.command; c++)
			if ((used = match_words(c, words, n_words)) > 0)
				cli.command = c;
	if (!cli.command) {
		bool help = p.help || (n_words > 1 && (strcmp(words[1], "--help") == 0 ||
						       strcmp(words[1], "-h") == 0));
		if (print_group(help ? stdout : stderr, words[0]))
			return help ? CLI_OK : CLI_USAGE;
		return cli_fail(CLI_USAGE, "unknown command '%s' (see kopilka --help)", words[0]);
	}
	const struct cli_command *c = cli.command;

	/* The rest: the command's options and arguments, in any order. */
	struct option
	    all[sizeof(common_options) / sizeof(common_options[0]) + CLI_MAX_OPTIONS + 1] = {0};
	size_t n = sizeof(common_options) / sizeof(common_options[0]);
	memcpy(all, common_options, sizeof(common_options));
	for (int i = 0; c->options && c->options[i].name; i++)
		all[n++] = (struct option){c->options[i].name,
					   c->options[i].arg ? required_argument : no_argument,
					   NULL, OPT_COMMAND + i};
	int sub_argc = n_words - used + 1;
	char **sub_argv = words + used - 1;
	optind = 0;
	while ((opt = getopt_long(sub_argc, sub_argv, "hV", all, NULL)) != -1) {
		if (opt >= OPT_COMMAND) {
			cli.values[opt - OPT_COMMAND] = optarg ? optarg : "1";
			continue;
		}
		if (!common_option(opt, &p, &cli))
			return cli_fail(
			    CLI_USAGE,
			    "%s: unknown option or missing argument: %s (see kopilka %s "
			    "--help)",
			    c->words, sub_argv[optind - 1], c->words);
	}
	if (p.help) {
		print_command_help(c);
		return CLI_OK;
	}
	if (p.version) {
		printf("kopilka %s\n", KOPILKA_VERSION);
		return CLI_OK;
	}
	cli.n_args = sub_argc - optind;
	if (cli.n_args < c->min_args || cli.n_args > c->max_args)
		return cli_fail(CLI_USAGE, "usage: kopilka %s %s (see kopilka %s --help)", c->words,
				c->args, c->words);
	for (int i = 0; i < cli.n_args; i++)
		cli.args[i] = sub_argv[optind + i];

	char err[512];
	if (settings_resolve(&cli.settings, p.flags, p.config, err, sizeof(err)) != 0) {
		settings_free(&cli.settings);
		return cli_fail(CLI_USAGE, "%s", err);
	}
	int rc;
	if (c->needs_server && !cli.settings.value[SET_URL])
		rc = cli_fail(CLI_USAGE,
			      "no server: give --url, set KOPILKA_URL, or put `url = "
			      "...` in the config file (%s)",
			      cli.settings.config_path ? cli.settings.config_path : "none");
	else
		rc = c->run(&cli);
	settings_free(&cli.settings);
	return rc;
}

/* kopilka config: the settings in effect and where each came from, for checking a setup. */
static int config_show(struct cli *cli)
{
	const struct cli_settings *s = &cli->settings;
	json_t *out = json_object();
	for (int k = 0; k < SET_COUNT; k++) {
		const char *value = s->value[k];
		/* The password is never printed: only whether it is set. */
		if (k == SET_PASSWORD && value)
			value = "(set)";
		if (cli->json) {
			json_object_set_new(out, settings_key_name(k),
					    json_pack("{s:s?,s:s}", "value", value, "from",
						      settings_source_name(s->source[k])));
		} else {
			printf("%-9s %-28s (%s)\n", settings_key_name(k), value ? value : "-",
			       settings_source_name(s->source[k]));
		}
	}
	if (cli->json) {
		json_object_set_new(
		    out, "configFile",
		    json_pack("{s:s?,s:b}", "path", s->config_path, "found", s->config_found));
		cli_print_json(out);
	} else {
		printf("%-9s %s (%s)\n", "config", s->config_path ? s->config_path : "-",
		       s->config_found ? "read" : "not found");
	}
	json_decref(out);
	return CLI_OK;
}

const struct cli_command cli_config_commands[] = {
    {"config", "", "Show the settings in effect and where each comes from", NULL, NULL, 0, 0, false,
     config_show},
    {0},
};
