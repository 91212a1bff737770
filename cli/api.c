/* The CLI's API commands, each one or two libkopilka calls: clients, balance, orders (through
 * the library's offline outbox with --outbox), the outbox itself, and the webhooks' delivery
 * log and redelivery (through kopilka_request). Every library status maps to one exit code. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kopilka.h>

#include "cli.h"

/* The longest order file read (the server takes 1 MiB bodies). */
#define ORDER_FILE_MAX (1024 * 1024)

/* The exit code of a library status: the server's lasting refusal is 1, no answer (or one
 * that says "later": 5xx, 429) is 3, a bad argument 2, the rest 4. */
static int exit_of(enum kopilka_status status, const struct kopilka_error *err)
{
	switch (status) {
	case KOPILKA_OK:
		return CLI_OK;
	case KOPILKA_QUEUED:
	case KOPILKA_ERR_NETWORK:
		return CLI_UNREACHABLE;
	case KOPILKA_ERR_HTTP:
		return err->retryable ? CLI_UNREACHABLE : CLI_REFUSED;
	case KOPILKA_ERR_INVALID:
		return CLI_USAGE;
	default:
		return CLI_FAILED;
	}
}

/* Reports a failed call: a line on stderr, and with --json the error as JSON on stdout.
 * Returns its exit code. */
static int report(const struct cli *cli, enum kopilka_status status,
		  const struct kopilka_error *err)
{
	int code = exit_of(status, err);
	const char *what = code == CLI_REFUSED	     ? "refused"
			   : code == CLI_UNREACHABLE ? "unreachable"
						     : kopilka_status_name(status);
	if (err->http_status)
		cli_fail(code, "%s: %d %s: %s", what, err->http_status, err->code, err->message);
	else
		cli_fail(code, "%s: %s", what, err->message);
	if (cli->json) {
		json_t *out = json_pack("{s:{s:s,s:i,s:s,s:s,s:b,s:i}}", "error", "status",
					kopilka_status_name(status), "httpStatus", err->http_status,
					"code", err->code, "message", err->message, "retryable",
					err->retryable, "exit", code);
		cli_print_json(out);
		json_decref(out);
	}
	return code;
}

/* A handle for the settings, with the outbox at outbox_path (NULL: none). The outbox commands
 * that never talk to the server (status) may run without a URL. */
static int open_handle(const struct cli *cli, const char *outbox_path, kopilka **h)
{
	char base[2048];
	settings_base_url(&cli->settings, base, sizeof(base));
	struct kopilka_config config;
	kopilka_config_init(&config);
	config.base_url = *base ? base : "http://127.0.0.1";
	config.login = cli->settings.value[SET_LOGIN];
	config.password = cli->settings.value[SET_PASSWORD];
	long budget_ms = settings_timeout_s(&cli->settings) * 1000;
	config.retry_budget_ms = budget_ms;
	if (config.request_timeout_ms > budget_ms)
		config.request_timeout_ms = budget_ms;
	if (config.connect_timeout_ms > budget_ms)
		config.connect_timeout_ms = budget_ms;
	config.outbox_path = outbox_path;
	config.user_agent = "kopilka-cli/" KOPILKA_VERSION;
	struct kopilka_error err;
	enum kopilka_status st = kopilka_create(&config, h, &err);
	return st == KOPILKA_OK ? CLI_OK : report(cli, st, &err);
}

static const char *text_or_dash(json_t *value)
{
	return json_is_string(value) ? json_string_value(value) : "-";
}

/* Writes a JSON number of the API (money: at most 2 fraction digits) as the server did. */
static const char *money_text(json_t *value, char text[KOPILKA_MONEY_TEXT_MAX])
{
	int64_t minor;
	if (kopilka_money_from_json(value, &minor) != KOPILKA_OK)
		return "?";
	return kopilka_money_format(minor, text);
}

/* Runs one library call, call(h, ctx, &answer, &err), and prints its answer: as JSON with
 * --json, else by human(answer, ctx). */
static int call_run(struct cli *cli,
		    enum kopilka_status (*call)(kopilka *h, const void *ctx, json_t **answer,
						struct kopilka_error *err),
		    void (*human)(json_t *answer, const void *ctx), const void *ctx)
{
	kopilka *h;
	int rc = open_handle(cli, NULL, &h);
	if (rc != CLI_OK)
		return rc;
	json_t *answer = NULL;
	struct kopilka_error err;
	enum kopilka_status st = call(h, ctx, &answer, &err);
	if (st != KOPILKA_OK)
		rc = report(cli, st, &err);
	else if (cli->json)
		cli_print_json(answer ? answer : json_object());
	else
		human(answer, ctx);
	json_decref(answer);
	kopilka_destroy(h);
	return rc;
}

/* A call of kopilka_request: body is JSON text for a POST, else NULL. */
struct request {
	const char *method, *path, *body;
};

static enum kopilka_status request_call(kopilka *h, const void *ctx, json_t **answer,
					struct kopilka_error *err)
{
	const struct request *r = ctx;
	return kopilka_request(h, r->method, r->path, r->body, NULL, answer, err);
}

static int request_run(struct cli *cli, const char *method, const char *path, const char *body,
		       void (*human)(json_t *answer, const void *ctx))
{
	struct request r = {method, path, body};
	return call_run(cli, request_call, human, &r);
}

/* ---- kopilka whoami ---- */

static void print_whoami(json_t *me, const void *ctx)
{
	const char *role = json_string_value(json_object_get(me, "role"));
	printf("%s %" JSON_INTEGER_FORMAT " of merchant %" JSON_INTEGER_FORMAT
	       " (%s): email %s, phone %s\n",
	       text_or_dash(json_object_get(me, "accountType")),
	       json_integer_value(json_object_get(me, "id")),
	       json_integer_value(json_object_get(me, "merchantId")), role ? role : "owner",
	       text_or_dash(json_object_get(me, "email")),
	       text_or_dash(json_object_get(me, "phone")));
}

static int whoami_run(struct cli *cli)
{
	return request_run(cli, "GET", "/fiscal/auth/", NULL, print_whoami);
}

/* ---- kopilka clients find ---- */

static bool is_token(const char *text)
{
	size_t n = strlen(text);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)text[i]))
			return false;
	return n == 32;
}

/* The clients matching what: an email (has @), a client token (32 hex digits), else a phone. */
static enum kopilka_status find(kopilka *h, const char *what, json_t **clients,
				struct kopilka_error *err)
{
	if (strchr(what, '@'))
		return kopilka_client_find(h, NULL, what, NULL, clients, err);
	if (is_token(what))
		return kopilka_client_find(h, NULL, NULL, what, clients, err);
	return kopilka_client_find(h, what, NULL, NULL, clients, err);
}

static void print_client_line(json_t *c)
{
	char bill[KOPILKA_MONEY_TEXT_MAX];
	printf("%-6" JSON_INTEGER_FORMAT " %-15s %-30s %-24s %3" JSON_INTEGER_FORMAT
	       " purchases, average %s\n",
	       json_integer_value(json_object_get(c, "id")),
	       text_or_dash(json_object_get(c, "phone")), text_or_dash(json_object_get(c, "email")),
	       text_or_dash(json_object_get(c, "name")),
	       json_integer_value(json_object_get(c, "totalPurchases")),
	       money_text(json_object_get(c, "averageBill"), bill));
}

static enum kopilka_status find_call(kopilka *h, const void *what, json_t **clients,
				     struct kopilka_error *err)
{
	return find(h, what, clients, err);
}

static void print_clients(json_t *clients, const void *what)
{
	if (json_array_size(clients) == 0) {
		printf("no client matches %s\n", (const char *)what);
		return;
	}
	printf("%-6s %-15s %-30s %-24s %s\n", "ID", "PHONE", "EMAIL", "NAME", "SALES");
	size_t i;
	json_t *c;
	json_array_foreach(clients, i, c) print_client_line(c);
}

static int clients_find_run(struct cli *cli)
{
	return call_run(cli, find_call, print_clients, cli->args[0]);
}

/* ---- kopilka balance ---- */

/* The client's id: CLIENT itself when it is a number of up to 9 digits (phones are longer),
 * else the one client a search for it finds. */
static int resolve_client(const struct cli *cli, kopilka *h, const char *what, int64_t *id)
{
	size_t n = strlen(what);
	if (n > 0 && n <= 9 && strspn(what, "0123456789") == n) {
		*id = strtoll(what, NULL, 10);
		return CLI_OK;
	}
	json_t *clients = NULL;
	struct kopilka_error err;
	enum kopilka_status st = find(h, what, &clients, &err);
	if (st != KOPILKA_OK)
		return report(cli, st, &err);
	size_t found = json_array_size(clients);
	if (found == 1)
		*id = json_integer_value(json_object_get(json_array_get(clients, 0), "id"));
	json_decref(clients);
	if (found == 1)
		return CLI_OK;
	return cli_fail(CLI_REFUSED, "%s: %s", what,
			found ? "several clients match; give the client's id"
			      : "no client matches");
}

static int balance_run(struct cli *cli)
{
	kopilka *h;
	int rc = open_handle(cli, NULL, &h);
	if (rc != CLI_OK)
		return rc;
	int64_t id = 0;
	rc = resolve_client(cli, h, cli->args[0], &id);
	struct kopilka_balance b;
	struct kopilka_error err;
	enum kopilka_status st = rc == CLI_OK ? kopilka_balance(h, id, &b, &err) : KOPILKA_OK;
	if (rc != CLI_OK) {
		/* reported */
	} else if (st != KOPILKA_OK) {
		rc = report(cli, st, &err);
	} else {
		char points[KOPILKA_MONEY_TEXT_MAX], rubles[KOPILKA_MONEY_TEXT_MAX];
		kopilka_money_format(b.points_minor, points);
		kopilka_money_format(b.rubles_minor, rubles);
		/* Written by hand: the amounts exactly as the server printed them. */
		if (cli->json)
			printf("{\"clientId\":%" PRId64 ",\"points\":%s,\"rubles\":%s}\n", id,
			       points, rubles);
		else
			printf("client %" PRId64 ": %s points, %s rubles\n", id, points, rubles);
	}
	kopilka_destroy(h);
	return rc;
}

/* ---- kopilka orders post ---- */

/* Reads FILE ("-": standard input) into *text (owned by the caller). */
static int read_order_file(const char *path, char **text)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return cli_fail(CLI_USAGE, "orders post: %s: %s", path, strerror(errno));
	char *buf = malloc(ORDER_FILE_MAX + 1);
	size_t n = buf ? fread(buf, 1, ORDER_FILE_MAX + 1, f) : 0;
	bool failed = buf && ferror(f);
	if (f != stdin)
		fclose(f);
	if (!buf)
		return cli_fail(CLI_FAILED, "out of memory");
	if (failed || n > ORDER_FILE_MAX) {
		free(buf);
		return cli_fail(CLI_USAGE, "orders post: %s: %s", path,
				failed ? "cannot be read" : "larger than 1 MiB");
	}
	buf[n] = '\0';
	json_error_t jerr;
	json_t *order = json_loads(buf, 0, &jerr);
	const char *ext =
	    json_string_value(json_object_get(json_object_get(order, "order"), "externalId"));
	if (!order || !ext) {
		if (order)
			cli_fail(CLI_USAGE,
				 "orders post: %s: order.externalId: required (it is what "
				 "makes a retry safe)",
				 path);
		else
			cli_fail(CLI_USAGE, "orders post: %s line %d: not JSON: %s", path,
				 jerr.line, jerr.text);
		json_decref(order);
		free(buf);
		return CLI_USAGE;
	}
	json_decref(order);
	*text = buf;
	return CLI_OK;
}

static void print_order(json_t *o)
{
	char total[KOPILKA_MONEY_TEXT_MAX], accrued[KOPILKA_MONEY_TEXT_MAX],
	    spent[KOPILKA_MONEY_TEXT_MAX];
	json_t *acc = json_object_get(o, "accrued"), *sp = json_object_get(o, "spent");
	json_t *client = json_object_get(o, "clientId");
	printf("order %" JSON_INTEGER_FORMAT " (%s %s): total %s, accrued %s %s, spent %s %s",
	       json_integer_value(json_object_get(o, "id")),
	       text_or_dash(json_object_get(o, "receiptType")),
	       text_or_dash(json_object_get(o, "externalOrderNumber")),
	       money_text(json_object_get(o, "totalAmount"), total),
	       money_text(json_object_get(acc, "amount"), accrued),
	       text_or_dash(json_object_get(acc, "currency")),
	       money_text(json_object_get(sp, "amount"), spent),
	       text_or_dash(json_object_get(sp, "currency")));
	if (json_is_integer(client))
		printf(", client %" JSON_INTEGER_FORMAT, json_integer_value(client));
	printf("\n");
}

static int orders_post_run(struct cli *cli)
{
	const char *outbox = cli_value(cli, "outbox");
	char *body = NULL;
	int rc = read_order_file(cli->args[0], &body);
	if (rc != CLI_OK)
		return rc;
	kopilka *h;
	rc = open_handle(cli, outbox, &h);
	if (rc != CLI_OK) {
		free(body);
		return rc;
	}
	json_t *answer = NULL;
	struct kopilka_error err;
	enum kopilka_status st =
	    kopilka_order_post(h, body, cli_value(cli, "idempotency-key"), &answer, &err);
	if (st == KOPILKA_OK) {
		if (cli->json)
			cli_print_json(answer);
		else
			print_order(answer);
	} else if (st == KOPILKA_QUEUED) {
		/* Kept in the outbox: not an error to the POS, but the script must know. */
		rc = CLI_UNREACHABLE;
		fprintf(stderr,
			"kopilka: queued in the outbox %s (%s); `kopilka outbox flush %s` sends "
			"it\n",
			outbox, err.message, outbox);
		if (cli->json) {
			json_t *out =
			    json_pack("{s:b,s:s,s:i,s:s}", "queued", 1, "outbox", outbox,
				      "httpStatus", err.http_status, "message", err.message);
			cli_print_json(out);
			json_decref(out);
		} else {
			printf("queued in %s\n", outbox);
		}
	} else {
		rc = report(cli, st, &err);
	}
	json_decref(answer);
	kopilka_destroy(h);
	free(body);
	return rc;
}

/* ---- kopilka outbox status|flush ---- */

static void print_counts(const struct kopilka_outbox_counts *n)
{
	printf("pending %" PRId64 ", sent %" PRId64 ", failed %" PRId64 "\n", n->pending, n->sent,
	       n->failed);
}

static void print_entry(json_t *e)
{
	json_t *status = json_object_get(e, "httpStatus");
	json_t *message = json_object_get(e, "message");
	printf("#%-5" JSON_INTEGER_FORMAT " %-8s %-7s %-24s attempts %" JSON_INTEGER_FORMAT,
	       json_integer_value(json_object_get(e, "seq")),
	       text_or_dash(json_object_get(e, "state")),
	       text_or_dash(json_object_get(e, "receiptType")),
	       text_or_dash(json_object_get(e, "externalId")),
	       json_integer_value(json_object_get(e, "attempts")));
	/* The last error: the server's status and code when it answered, else the library's
	 * message alone (no answer). */
	if (json_is_integer(status) && json_integer_value(status) > 0)
		printf("  last: %" JSON_INTEGER_FORMAT " %s: %s", json_integer_value(status),
		       text_or_dash(json_object_get(e, "code")), text_or_dash(message));
	else if (json_is_string(message))
		printf("  last: %s", json_string_value(message));
	printf("\n");
}

/* The outbox's counts and unsent entries: printed, and returned in *counts. */
static int show_outbox(const struct cli *cli, kopilka *h, struct kopilka_outbox_counts *counts,
		       bool entries_too)
{
	json_t *entries = NULL;
	struct kopilka_error err;
	enum kopilka_status st =
	    kopilka_outbox_status(h, counts, entries_too ? &entries : NULL, &err);
	if (st != KOPILKA_OK)
		return report(cli, st, &err);
	if (cli->json) {
		json_t *out =
		    json_pack("{s:I,s:I,s:I}", "pending", (json_int_t)counts->pending, "sent",
			      (json_int_t)counts->sent, "failed", (json_int_t)counts->failed);
		if (entries)
			json_object_set(out, "entries", entries);
		cli_print_json(out);
		json_decref(out);
	} else {
		print_counts(counts);
		size_t i;
		json_t *e;
		json_array_foreach(entries, i, e) print_entry(e);
	}
	json_decref(entries);
	return CLI_OK;
}

static int outbox_open(struct cli *cli, kopilka **h)
{
	/* The library would create a missing file; a typo in PATH should not look empty. */
	if (access(cli->args[0], F_OK) != 0)
		return cli_fail(CLI_USAGE, "%s: no such outbox (%s)", cli->args[0],
				strerror(errno));
	return open_handle(cli, cli->args[0], h);
}

static int outbox_status_run(struct cli *cli)
{
	kopilka *h;
	int rc = outbox_open(cli, &h);
	if (rc != CLI_OK)
		return rc;
	struct kopilka_outbox_counts counts;
	rc = show_outbox(cli, h, &counts, true);
	kopilka_destroy(h);
	return rc;
}

static int outbox_flush_run(struct cli *cli)
{
	kopilka *h;
	int rc = outbox_open(cli, &h);
	if (rc != CLI_OK)
		return rc;
	struct kopilka_outbox_counts before = {0}, after = {0};
	struct kopilka_error err;
	enum kopilka_status st = kopilka_outbox_status(h, &before, NULL, &err);
	if (st == KOPILKA_OK)
		st = kopilka_outbox_flush(h, &err);
	if (st == KOPILKA_QUEUED) {
		rc = CLI_UNREACHABLE;
		fprintf(stderr, "kopilka: the server is unreachable (%s); the rest stays queued\n",
			err.message);
	} else if (st != KOPILKA_OK) {
		rc = report(cli, st, &err);
	}
	if (st == KOPILKA_OK || st == KOPILKA_QUEUED) {
		int shown = show_outbox(cli, h, &after, true);
		if (shown != CLI_OK)
			rc = shown;
		else if (rc == CLI_OK && after.failed > before.failed)
			rc = cli_fail(CLI_REFUSED,
				      "the server refused %" PRId64
				      " order(s) for good; `kopilka outbox status` lists them",
				      after.failed - before.failed);
	}
	kopilka_destroy(h);
	return rc;
}

/* ---- kopilka webhooks list|events|deliveries|redeliver ---- */

/* An id for a path: digits, letters, '_', '-', '.' only, so it needs no encoding. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n <= 128 &&
	       strspn(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-.") == n;
}

/* A value for a column: a string as is, an integer in digits, else "-". */
static const char *cell(json_t *v, char *buf, size_t cap)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return "-";
}

/* A time in ms since the epoch as ISO 8601 UTC, "-" for null. */
static const char *time_cell(json_t *v, char *buf, size_t cap)
{
	if (!json_is_integer(v))
		return "-";
	time_t s = (time_t)(json_integer_value(v) / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* A delivery of the log (GET /webhooks/{id}/deliveries/: {id, eventId, eventType, status,
 * attempts, nextAttemptAt, lastStatus, lastError, createdAt, log: [{at, status, error,
 * latencyMs}]}): a line, and with detail a line per attempt of its log. */
static void print_delivery(json_t *d, bool detail)
{
	char when[40], next[40], attempts[24], last[24];
	printf("%s %-34s %-18s %-9s attempts %-3s last %s",
	       time_cell(json_object_get(d, "createdAt"), when, sizeof(when)),
	       text_or_dash(json_object_get(d, "eventId")),
	       text_or_dash(json_object_get(d, "eventType")),
	       text_or_dash(json_object_get(d, "status")),
	       cell(json_object_get(d, "attempts"), attempts, sizeof(attempts)),
	       cell(json_object_get(d, "lastStatus"), last, sizeof(last)));
	if (json_is_integer(json_object_get(d, "nextAttemptAt")))
		printf(", next %s",
		       time_cell(json_object_get(d, "nextAttemptAt"), next, sizeof(next)));
	printf("\n");
	if (!detail)
		return;
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(d, "log"), i, a)
	{
		char status[24], latency[24];
		json_t *error = json_object_get(a, "error");
		printf("    %s status %s, %s ms%s%s\n",
		       time_cell(json_object_get(a, "at"), when, sizeof(when)),
		       cell(json_object_get(a, "status"), status, sizeof(status)),
		       cell(json_object_get(a, "latencyMs"), latency, sizeof(latency)),
		       json_is_string(error) ? ", " : "",
		       json_is_string(error) ? json_string_value(error) : "");
	}
}

/* An endpoint ({id, url, secret (masked), events, active, createdAt}): id, state, URL and
 * its event types. */
static void print_endpoints(json_t *endpoints, const void *ctx)
{
	if (json_array_size(endpoints) == 0)
		printf("no webhook endpoints\n");
	size_t n;
	json_t *row;
	json_array_foreach(endpoints, n, row)
	{
		char id[24];
		printf("%-6s %-8s %s", cell(json_object_get(row, "id"), id, sizeof(id)),
		       json_is_true(json_object_get(row, "active")) ? "active" : "inactive",
		       text_or_dash(json_object_get(row, "url")));
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(row, "events"), i, e)
		    printf("%s%s", i ? "," : " ", text_or_dash(e));
		printf("\n");
	}
}

static void print_log(json_t *deliveries, bool detail)
{
	if (json_array_size(deliveries) == 0)
		printf("no events delivered to it yet\n");
	size_t i;
	json_t *d;
	json_array_foreach(deliveries, i, d) print_delivery(d, detail);
}

static void print_events(json_t *deliveries, const void *ctx)
{
	print_log(deliveries, false);
}

static void print_deliveries(json_t *deliveries, const void *ctx)
{
	print_log(deliveries, true);
}

static void print_redelivered(json_t *answer, const void *ctx)
{
	printf("event %s: redelivery scheduled to %" JSON_INTEGER_FORMAT " endpoint(s)\n",
	       text_or_dash(json_object_get(answer, "eventId")),
	       json_integer_value(json_object_get(answer, "deliveries")));
}

static int webhooks_list_run(struct cli *cli)
{
	return request_run(cli, "GET", "/webhooks/", NULL, print_endpoints);
}

/* PATTERN with the command's one id argument (checked by id_ok) in place of %s. */
static int webhooks_id_run(struct cli *cli, const char *method, const char *pattern,
			   void (*human)(json_t *, const void *))
{
	if (!id_ok(cli->args[0]))
		return cli_fail(CLI_USAGE, "%s: letters, digits, _ - . only", cli->args[0]);
	char path[256];
	snprintf(path, sizeof(path), pattern, cli->args[0]);
	return request_run(cli, method, path, strcmp(method, "POST") == 0 ? "{}" : NULL, human);
}

static int webhooks_events_run(struct cli *cli)
{
	return webhooks_id_run(cli, "GET", "/webhooks/%s/deliveries/", print_events);
}

static int webhooks_deliveries_run(struct cli *cli)
{
	return webhooks_id_run(cli, "GET", "/webhooks/%s/deliveries/", print_deliveries);
}

static int webhooks_redeliver_run(struct cli *cli)
{
	return webhooks_id_run(cli, "POST", "/webhooks/events/%s/redeliver/", print_redelivered);
}

static const struct cli_option orders_options[] = {
    {"outbox", "PATH",
     "go through the offline outbox file PATH (created if missing): the order is kept on disk "
     "first, and an unreachable server leaves it queued (exit 3)"},
    {"idempotency-key", "KEY", "the Idempotency-Key header (default: one per order)"},
    {0},
};

const struct cli_command cli_api_commands[] = {
    {"whoami", "", "Show the account the settings sign in as", NULL, NULL, 0, 0, true, whoami_run},
    {"clients find", "PHONE|EMAIL|TOKEN", "Find clients by phone, email or client token",
     "An argument with @ is an email, 32 hex digits a client token, anything else a phone (any\n"
     "notation; % matches any digits). Prints a line per client, or the server's array with\n"
     "--json. No match is not an error (exit 0).\n",
     NULL, 1, 1, true, clients_find_run},
    {"balance", "CLIENT", "Show a client's points and rubles",
     "CLIENT is the client's id (up to 9 digits), or a phone, email or token that finds\n"
     "exactly one client. --json prints {\"clientId\", \"points\", \"rubles\"}, the amounts\n"
     "exactly as the server wrote them.\n",
     NULL, 1, 1, true, balance_run},
    {"orders post", "FILE.json", "Post an order (a sale or a refund) from a JSON file",
     "FILE.json (- for standard input) is the body of POST /ext/api/v1/fiscal/orders/, sent\n"
     "byte for byte; its order.externalId is required (retries and the outbox rely on it).\n"
     "Prints the order the server answered (--json: as the server wrote it). With --outbox\n"
     "the order is appended to the outbox file before it is sent; if the server cannot be\n"
     "reached it stays there (exit 3) until `kopilka outbox flush`.\n",
     orders_options, 1, 1, true, orders_post_run},
    {"outbox status", "PATH", "Count an outbox's orders and list those not sent",
     "Never contacts the server. --json: {\"pending\", \"sent\", \"failed\", \"entries\": "
     "[...]}.\n",
     NULL, 1, 1, false, outbox_status_run},
    {"outbox flush", "PATH", "Send an outbox's pending orders, oldest first",
     "Exit 0 when nothing is left pending, 3 when the server is still unreachable (the\n"
     "rest stays queued), 1 when the server refused some order for good (it is kept as\n"
     "failed and listed by `kopilka outbox status`).\n",
     NULL, 1, 1, true, outbox_flush_run},
    {"webhooks list", "", "List the merchant's webhook endpoints", NULL, NULL, 0, 0, true,
     webhooks_list_run},
    {"webhooks events", "ENDPOINT_ID", "List the events sent to an endpoint, a line each",
     "From GET /ext/api/v1/webhooks/{id}/deliveries/: the event's time, id and\n"
     "type, the delivery's state (pending, delivered, failed), attempts, the last HTTP status\n"
     "and when a pending one is tried next. --json: the server's array.\n",
     NULL, 1, 1, true, webhooks_events_run},
    {"webhooks deliveries", "ENDPOINT_ID", "Show an endpoint's delivery log with each attempt",
     "As webhooks events, and under each event a line per attempt: time, HTTP status (- when\n"
     "there was no answer), latency and the error.\n",
     NULL, 1, 1, true, webhooks_deliveries_run},
    {"webhooks redeliver", "EVENT_ID", "Send an event again to its endpoints", NULL, NULL, 1, 1,
     true, webhooks_redeliver_run},
    {0},
};
