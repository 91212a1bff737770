/* The kopilka command-line tool (docs/CLI.md): what its modules share. main.c parses the
 * command line into a struct cli and runs one command of its table; settings.c resolves the
 * connection settings; out.c prints for people or for scripts; each command group has a file. */
#ifndef KOPILKA_CLI_H
#define KOPILKA_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "settings.h"

/* The exit codes (docs/CLI.md, "Exit codes"); scripts rely on them, so never renumber. */
enum cli_exit {
	CLI_OK = 0,	     /* done */
	CLI_REFUSED = 1,     /* the server answered and refused (4xx: a rule, validation, auth) */
	CLI_USAGE = 2,	     /* a bad command line or configuration; nothing was sent */
	CLI_UNREACHABLE = 3, /* no answer (network, 5xx, 429 past the retries); with an outbox the
				order is queued in it, not lost */
	CLI_FAILED = 4,	     /* anything else: an answer not understood, a local file, memory */
};

/* An option of one command: --name, with an argument named arg (NULL: a flag). */
struct cli_option {
	const char *name;
	const char *arg;
	const char *help;
};

#define CLI_MAX_OPTIONS 8
#define CLI_MAX_ARGS 8

struct cli;

/* One command: its words ("webhooks listen"), its positional arguments as shown in the usage
 * line, and their count; run() returns an enum cli_exit. */
struct cli_command {
	const char *words;
	const char *args;
	const char *summary;
	const char *help; /* more lines for --help, or NULL */
	const struct cli_option *options;
	int min_args, max_args;
	bool needs_server; /* it talks to the API: a URL is required */
	int (*run)(struct cli *cli);
};

/* The parsed command line. Strings point into argv or the environment, or are owned by
 * settings. */
struct cli {
	const struct cli_command *command;
	struct cli_settings settings;
	bool json; /* --json: machine-readable output on stdout */
	const char *args[CLI_MAX_ARGS];
	int n_args;
	/* The command's option values, by the index of its options[]: the argument, "1" for a
	 * flag given, NULL when absent. */
	const char *values[CLI_MAX_OPTIONS];
};

/* The value of the command's option name, or NULL when it was not given. */
const char *cli_value(const struct cli *cli, const char *name);

/* Prints "kopilka: " and the message on stderr; returns code, so a command can
 * `return cli_fail(CLI_USAGE, ...)`. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes value as compact JSON and a newline on stdout; money (reals) printed digit for digit
 * as the server did (15 significant digits hold every amount the API allows). */
void cli_print_json(const json_t *value);

/* The command tables of each group (NULL-terminated by words). */
extern const struct cli_command cli_api_commands[];    /* api.c: the API's calls */
extern const struct cli_command cli_listen_commands[]; /* listen.c: webhooks listen */
extern const struct cli_command cli_config_commands[]; /* main.c: config */

#endif
