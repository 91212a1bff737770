/* kopilka webhooks listen: a local receiver for developing an integration. It verifies each
 * delivery's Kopilka-Signature as an integrator's endpoint must (HMAC-SHA256, constant-time
 * compare, a tolerance on t against replays), answers 2xx to a good one and 400 to a bad one,
 * and prints each event: a line for people, or the raw event with --json. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>
#include <sodium.h>

#include "cli.h"
#include "signature.h"

/* A delivery's body larger than this is refused (413); the server's events are far smaller. */
#define BODY_MAX (1024 * 1024)
#define TOLERANCE_DEFAULT_S 300

struct receiver {
	const char *secret;
	int64_t tolerance_s;
	unsigned answer_status; /* what a good delivery is answered */
	bool json;
	unsigned long accepted, rejected;
};

/* One request's body, collected over the calls libmicrohttpd makes. */
struct upload {
	char *data;
	size_t len;
	bool too_large;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void format_time(int64_t ms, char *out, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

/* The event's time: its "createdAt" (what kopilkad sends; else "time" or "created", as other
 * senders name it) as ms or s since the epoch or as a string, else the signature's t. */
static void event_time(json_t *event, int64_t t_s, char *out, size_t cap)
{
	static const char *const keys[] = {"createdAt", "time", "created"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(event, keys[i]);
		if (json_is_integer(v)) {
			json_int_t n = json_integer_value(v);
			format_time(n > 100000000000LL ? n : n * 1000, out, cap);
			return;
		}
		if (json_is_string(v)) {
			snprintf(out, cap, "%s", json_string_value(v));
			return;
		}
	}
	format_time(t_s * 1000, out, cap);
}

static void print_event(struct receiver *rx, const struct upload *up, const char *header_id,
			int64_t t_s)
{
	json_error_t jerr;
	json_t *event = json_loadb(up->data, up->len, 0, &jerr);
	if (rx->json) {
		/* The event as it came, on one line (re-written compact only if it had breaks). */
		if (event && memchr(up->data, '\n', up->len))
			cli_print_json(event);
		else
			printf("%.*s\n", (int)up->len, up->data);
	} else {
		char when[64];
		event_time(event, t_s, when, sizeof(when));
		const char *id = json_string_value(json_object_get(event, "id"));
		const char *type = json_string_value(json_object_get(event, "type"));
		printf("%s %s %s\n", when,
		       id	   ? id
		       : header_id ? header_id
				   : "-",
		       type    ? type
		       : event ? "-"
			       : "(not JSON)");
	}
	fflush(stdout);
	const char *id = json_string_value(json_object_get(event, "id"));
	if (header_id && id && strcmp(header_id, id) != 0)
		fprintf(stderr, "kopilka: warning: Kopilka-Event-Id %s is not the event's id %s\n",
			header_id, id);
	json_decref(event);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct receiver *rx = cls;
	struct upload *up = *con_cls;
	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!up->too_large && up->len + *upload_data_size <= BODY_MAX) {
			char *grown = realloc(up->data, up->len + *upload_data_size + 1);
			if (!grown)
				return MHD_NO;
			up->data = grown;
			memcpy(up->data + up->len, upload_data, *upload_data_size);
			up->len += *upload_data_size;
			up->data[up->len] = '\0';
		} else {
			up->too_large = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0)
		return reply(
		    conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "{\"error\":\"method_not_allowed\",\"message\":\"webhooks are POSTed\"}");
	if (up->too_large)
		return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
			     "{\"error\":\"too_large\",\"message\":\"the body is over 1 MiB\"}");
	const char *header =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Kopilka-Signature");
	const char *event_id =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Kopilka-Event-Id");
	int64_t t_s = 0;
	enum signature_result result =
	    signature_verify(header, up->data ? up->data : "", up->len, rx->secret,
			     (int64_t)time(NULL), rx->tolerance_s, &t_s);
	if (result != SIGNATURE_OK) {
		rx->rejected++;
		fprintf(stderr, "kopilka: rejected POST %s (event %s): %s\n", url,
			event_id ? event_id : "-", signature_result_text(result));
		json_t *body = json_pack("{s:s,s:s}", "error", "bad_signature", "message",
					 signature_result_text(result));
		char *text = json_dumps(body, JSON_COMPACT);
		enum MHD_Result ret = reply(conn, MHD_HTTP_BAD_REQUEST, text ? text : "{}");
		free(text);
		json_decref(body);
		return ret;
	}
	rx->accepted++;
	print_event(rx, up, event_id, t_s);
	return reply(conn, rx->answer_status, "{\"received\":true}");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct upload *up = *con_cls;
	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

/* A whole number of options[name] within [min, max], else -1 (a usage error printed). */
static long number_option(const struct cli *cli, const char *name, long fallback, long min,
			  long max)
{
	const char *text = cli_value(cli, name);
	if (!text)
		return fallback;
	char *end;
	errno = 0;
	long n = strtol(text, &end, 10);
	if (errno || end == text || *end || n < min || n > max) {
		cli_fail(CLI_USAGE, "--%s %s: must be a whole number from %ld to %ld", name, text,
			 min, max);
		return -1;
	}
	return n;
}

static int listen_run(struct cli *cli)
{
	struct receiver rx = {.json = cli->json};
	rx.secret = cli_value(cli, "secret");
	if (!rx.secret)
		rx.secret = getenv("KOPILKA_WEBHOOK_SECRET");
	if (!rx.secret || !*rx.secret)
		return cli_fail(CLI_USAGE,
				"webhooks listen: give --secret (or set "
				"KOPILKA_WEBHOOK_SECRET): the endpoint's signing secret");
	long port = number_option(cli, "port", -2, 0, 65535);
	if (port == -2)
		return cli_fail(CLI_USAGE, "webhooks listen: give --port");
	long tolerance = number_option(cli, "tolerance", TOLERANCE_DEFAULT_S, 0, 86400 * 365);
	long status = number_option(cli, "status", 200, 200, 599);
	if (port < 0 || tolerance < 0 || status < 0)
		return CLI_USAGE;
	rx.tolerance_s = tolerance;
	rx.answer_status = (unsigned)status;
	if (sodium_init() < 0)
		return cli_fail(CLI_FAILED, "libsodium failed to start");

	const char *host = cli_value(cli, "host") ? cli_value(cli, "host") : "127.0.0.1";
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	char service[24];
	snprintf(service, sizeof(service), "%ld", port);
	int gai = getaddrinfo(host, service, &hints, &ai);
	if (gai != 0)
		return cli_fail(CLI_USAGE, "webhooks listen: --host %s: %s", host,
				gai_strerror(gai));

	/* SIGINT and SIGTERM are waited for below; blocked first, so libmicrohttpd's thread
	 * never takes them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, on_request, &rx, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)30, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d)
		return cli_fail(CLI_FAILED, "webhooks listen: cannot listen on %s port %ld: %s",
				host, port, strerror(errno));
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr,
		"kopilka: listening on http://%s%s%s:%u/ for signed webhooks (tolerance %lds); "
		"Ctrl-C stops\n",
		strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		info ? info->port : (unsigned)port, tolerance);
	int sig = 0;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	fprintf(stderr, "kopilka: stopped: %lu event(s) accepted, %lu rejected\n", rx.accepted,
		rx.rejected);
	return CLI_OK;
}

static const struct cli_option listen_options[] = {
    {"port", "PORT", "the port to listen on (0: any free one, printed on stderr)"},
    {"secret", "SECRET",
     "the endpoint's signing secret (else KOPILKA_WEBHOOK_SECRET; an argument is visible to "
     "other users in ps)"},
    {"host", "ADDRESS", "the address to listen on; default 127.0.0.1"},
    {"tolerance", "SECONDS",
     "the largest difference between t and now accepted; default 300, 0 accepts any"},
    {"status", "CODE",
     "the status answered to a good delivery (default 200; e.g. 503 to watch "
     "the server retry)"},
    {0},
};

const struct cli_command cli_listen_commands[] = {
    {"webhooks listen", "--port P --secret S",
     "Receive webhooks locally: verify each signature, print each event",
     "Every POST must carry Kopilka-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of\n"
     "\"<t>.<body>\" with the secret>. A good one is answered 200 (or --status) and printed:\n"
     "a line \"<time> <event id> <type>\", or with --json the event itself on one line. A\n"
     "missing, malformed or wrong signature, or a t further than --tolerance from now, is\n"
     "answered 400 and reported on stderr. Runs until SIGINT or SIGTERM (exit 0).\n",
     listen_options, 0, 0, false, listen_run},
    {0},
};
