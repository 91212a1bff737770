/* libmicrohttpd transport (see server.h).
 *
 * libmicrohttpd calls the access handler several times per request: first with the headers,
 * then once per body chunk, then once more with no data. We queue the response only on that
 * last call; a response queued on the first call makes MHD 0.9 close the connection. */
#include "http/server.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	atomic_int in_flight;
	/* Of those, the ones whose body is still arriving. libmicrohttpd notices a client that
	 * gave up mid-body only at the connection timeout, so a stop does not wait for these:
	 * nothing of them has run, and no answer was promised. */
	atomic_int receiving;
	atomic_bool stopping; /* set by http_stop: new requests are refused */
};

/* Per-request state between the calls of the access handler. */
struct exchange {
	struct request req;
	int64_t started_us;
	size_t body_max; /* the route's body limit (api_body_max) */
	size_t body_cap; /* bytes allocated for req.body */
	bool receiving;	 /* counted in http_server.receiving until the handler runs */
	bool handled;
};

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct request *req = cls;
	(void)kind;
	if (!value)
		value = "";
	if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0) {
		free(req->authorization);
		req->authorization = xstrdup(value);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) {
		free(req->content_type);
		req->content_type = xstrdup(value);
	} else if (strcasecmp(key, "X-Request-Id") == 0) {
		free(req->request_id_in);
		req->request_id_in = xstrdup(value);
	} else if (strcasecmp(key, "Idempotency-Key") == 0) {
		req->n_idempotency_keys++;
		free(req->idempotency_key);
		req->idempotency_key = xstrdup(value);
	}
	return MHD_YES;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct request *req = cls;
	(void)kind;
	req->query = xrealloc(req->query, (req->n_query + 1) * sizeof(*req->query));
	req->query[req->n_query].key = xstrdup(key);
	req->query[req->n_query].value = xstrdup(value ? value : "");
	req->n_query++;
	return MHD_YES;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, cap, "unknown");
	if (!info || !info->client_addr)
		return;
	const struct sockaddr *sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct exchange *ex,
				     struct response *resp)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		resp->body.len, resp->body.data ? resp->body.data : (void *)"",
		MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type
						   : "application/json;charset=UTF-8");
	MHD_add_response_header(r, "X-Request-Id", ex->req.request_id);
	for (int i = 0; i < resp->n_headers; i++)
		MHD_add_response_header(r, resp->headers[i].key, resp->headers[i].value);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	(void)version;
	struct exchange *ex = *con_cls;
	if (!ex && atomic_load(&s->stopping)) {
		/* Shutting down: a request that arrives now on a kept-alive connection is not in
		 * flight. Refuse it and close the connection; the client may retry elsewhere. */
		static const char body[] = "{\"error\":\"Service Unavailable\",\"message\":\"the "
					   "server is shutting down; retry\",\"path\":\"\",\"status\":"
					   "503,\"timestamp\":0,\"code\":\"unavailable\"}";
		struct MHD_Response *r = MHD_create_response_from_buffer(
			sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json;charset=UTF-8");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
		enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (!ex) {
		ex = xcalloc(1, sizeof(*ex));
		ex->started_us = mono_us();
		ex->req.method = method;
		ex->req.path = xstrdup(url);
		ex->body_max = api_body_max(method, url);
		MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &ex->req);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &ex->req);
		client_address(conn, ex->req.remote_addr, sizeof(ex->req.remote_addr));
		if (ex->req.request_id_in && request_id_ok(ex->req.request_id_in))
			snprintf(ex->req.request_id, sizeof(ex->req.request_id), "%s",
				 ex->req.request_id_in);
		else
			random_hex(ex->req.request_id, 8);
		atomic_fetch_add(&s->in_flight, 1);
		metrics_in_flight_add(1);
		ex->receiving = true;
		atomic_fetch_add(&s->receiving, 1);
		*con_cls = ex;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the limit keep draining (so the 413 reaches the client) but drop the data. */
		if (!ex->req.body_too_large) {
			if (ex->req.body_len + *upload_data_size > ex->body_max) {
				ex->req.body_too_large = true;
				free(ex->req.body);
				ex->req.body = NULL;
				ex->req.body_len = 0;
			} else {
				/* Grown by doubling: an upload arrives in many small chunks. */
				size_t need = ex->req.body_len + *upload_data_size + 1;
				if (need > ex->body_cap) {
					size_t cap = need > 2 * ex->body_cap ? need : 2 * ex->body_cap;
					ex->body_cap = cap < ex->body_max + 1 ? cap : ex->body_max + 1;
					ex->req.body = xrealloc(ex->req.body, ex->body_cap);
				}
				memcpy(ex->req.body + ex->req.body_len, upload_data,
				       *upload_data_size);
				ex->req.body_len += *upload_data_size;
				ex->req.body[ex->req.body_len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (ex->handled)
		return MHD_YES;
	ex->handled = true;
	if (ex->receiving) {
		ex->receiving = false;
		atomic_fetch_sub(&s->receiving, 1);
	}
	struct response resp;
	response_init(&resp);
	api_handle(s->app, &ex->req, &resp);
	enum MHD_Result ret = send_response(conn, ex, &resp);
	int64_t dur_us = mono_us() - ex->started_us;
	size_t n_routes;
	const char *const *names = api_route_names(&n_routes);
	/* The route template, never the raw path: paths carry ids and tokens. */
	const char *route = resp.route >= 0 ? strchr(names[resp.route], ' ') + 1 : "(unmatched)";
	struct access_entry entry = {.request_id = ex->req.request_id,
				     .method = method,
				     .route = route,
				     .status = resp.status,
				     .duration_us = dur_us,
				     .merchant_id = resp.merchant_id,
				     .bytes = resp.body.len};
	log_access(&entry);
	metrics_request(resp.route, resp.status, dur_us);
	response_free(&resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	(void)conn;
	(void)toe;
	struct exchange *ex = *con_cls;
	if (!ex)
		return;
	if (ex->receiving)
		atomic_fetch_sub(&s->receiving, 1);
	request_free(&ex->req);
	free(ex);
	*con_cls = NULL;
	atomic_fetch_sub(&s->in_flight, 1);
	metrics_in_flight_add(-1);
}

/* libmicrohttpd's own messages, as JSON log lines like everything else. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

static bool parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return false;
	char host[64];
	size_t n = (size_t)(colon - listen);
	if (n >= sizeof(host))
		return false;
	memcpy(host, listen, n);
	host[n] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

struct http_server *http_start(struct app *app, const struct config *cfg, const char *listen,
			       int threads)
{
	struct sockaddr_in sa;
	if (!parse_listen(listen, &sa)) {
		log_error("listen address must be IPv4-ADDRESS:PORT, got \"%s\"", listen);
		return NULL;
	}
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->app = app;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_USE_ITC;
	struct MHD_OptionItem opts[] = {
		/* The logger first, so that MHD's messages about later options use it too. */
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
		{MHD_OPTION_SOCK_ADDR, 0, &sa},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->per_ip_connections, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->connection_timeout_seconds, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
		{MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
		/* A pool of one is no pool: then MHD's polling thread serves alone. */
		{threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	s->daemon = MHD_start_daemon(flags, ntohs(sa.sin_port), NULL, NULL, on_request, s,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!s->daemon) {
		log_error("cannot listen on %s (address in use or not available)", listen);
		free(s);
		return NULL;
	}
	return s;
}

void http_stop(struct http_server *s, int64_t grace_ms)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	MHD_socket fd = MHD_quiesce_daemon(s->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Wait for the requests being handled or answered, not for bodies still arriving (see
	 * receiving): one whose body completes now is handled by its thread, which
	 * MHD_stop_daemon joins, and gets no answer, so its client retries it. */
	int64_t deadline = mono_us() + grace_ms * 1000;
	while (atomic_load(&s->in_flight) - atomic_load(&s->receiving) > 0 && mono_us() < deadline)
		usleep(10000);
	MHD_stop_daemon(s->daemon);
	free(s);
}
