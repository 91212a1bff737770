/* libmicrohttpd transport (see server.h).
 *
 * libmicrohttpd calls the access handler several times per request: first with the headers,
 * then once per body chunk, then once more with no data. We queue the response only on that
 * last call; a response queued on the first call makes MHD 0.9 close the connection.
 *
 * Reads (GET, HEAD) are answered on MHD's own threads. Writes (POST, PUT, DELETE) can wait a
 * long time for the database (the SQLite group commit, a lock, Argon2), and each MHD thread
 * serves many connections: so a write's connection is suspended, the request goes to a pool of
 * write workers, and the worker resumes the connection with the response ready; MHD then calls
 * the access handler once more and the response is queued there. No MHD thread ever waits for
 * a write, and as many writes as there are workers can share one commit.
 *
 * MHD's connection timeout is an idle timeout: a client that trickles a byte every few seconds
 * keeps a connection forever. The watcher thread adds a whole-request deadline on top: every
 * open connection is on a list with the time by which its current request must have fully
 * arrived, and the watcher shuts down the socket of one that is late (MHD then closes it). */
#include "http/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"

struct exchange;
/* One per open connection (MHD's socket context), on the server's watch list from the
 * accept to the close. Fields are guarded by http_server.watch_lock. */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	/* When the current request must have fully arrived (headers and body): the accept or the
	 * end of the previous answer plus --request-timeout-seconds. 0 while a request is being
	 * handled or answered (a slow handler is not the client's fault). Set by the connection's
	 * own thread twice per request, read by the watcher: an atomic, not under watch_lock,
	 * which every request took twice before (docs/PERFORMANCE.md, "Reads without
	 * process-wide locks"). */
	_Atomic int64_t deadline_us;
	bool shut;	 /* the watcher has shut the socket down */
	bool nul_escape; /* the request line being read has %00 in its path or query */
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct app *app;
	atomic_int in_flight;
	/* Of those, the ones whose body is still arriving. libmicrohttpd notices a client that
	 * gave up mid-body only at the connection timeout, so a stop does not wait for these:
	 * nothing of them has run, and no answer was promised. */
	atomic_int receiving;
	atomic_bool stopping; /* set by http_stop: new requests are refused */
	/* The write workers and their queue (FIFO of suspended exchanges); guarded by mu. */
	pthread_t *workers;
	int n_workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exchange *queue_head, *queue_tail;
	bool workers_stop;
	int64_t request_timeout_us;
	pthread_mutex_t watch_lock; /* guards the list (watch_head, prev, next) */
	struct conn_watch *watch_head;
	pthread_t watcher;
	bool watcher_running;
	atomic_bool watcher_stop;
};

/* Per-request state between the calls of the access handler. */
struct exchange {
	struct request req;
	int64_t started_us;
	size_t body_max; /* the route's body limit (api_body_max) */
	size_t body_cap; /* bytes allocated for req.body */
	bool receiving;	 /* counted in http_server.receiving until the handler runs */
	bool handled;
	/* A write handed to the workers: its connection is suspended until `answered`. */
	struct MHD_Connection *conn;
	struct exchange *next;
	struct response resp;
	atomic_bool answered;
	/* The check before the body (api_refuse_early) is running on a write worker; its answer,
	 * if any, is in resp once `answered`. */
	bool prechecking;
	int64_t deadline_left_us; /* of the request deadline, paused while prechecking */
	bool close_after;	  /* answered before the body: MHD closes the connection after it */
	uint64_t content_length;  /* the declared Content-Length (0: none) */
	/* Headers that must occur at most once (RFC 9112 3.2, 6.3), counted to refuse smuggling. */
	int n_host, n_content_length, n_transfer_encoding, n_authorization, n_content_type;
	bool te_not_chunked; /* a Transfer-Encoding other than exactly "chunked" */
	bool bad_header;     /* a name that is not a token, or a value with a control character */
	/* The line layout check (header_lines_ok): the header block's bounds in MHD's read
	 * buffer, where the previous line's text ended, and whether a line broke the rule. */
	uintptr_t block_start, block_end, line_end;
	bool bad_line;
};

static struct conn_watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info ? info->socket_context : NULL;
}

static void watch_set_deadline(struct conn_watch *w, int64_t deadline_us)
{
	if (w)
		atomic_store(&w->deadline_us, deadline_us);
}

/* MHD_OPTION_NOTIFY_CONNECTION: puts a connection on the watch list when it opens and takes it
 * off when it closes. MHD calls CLOSED before it closes the socket, so the watcher never shuts
 * down a descriptor that has been reused by another connection. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn_watch *w = xcalloc(1, sizeof(*w));
		w->fd = info ? info->connect_fd : -1;
		atomic_init(&w->deadline_us, mono_us() + s->request_timeout_us);
		pthread_mutex_lock(&s->watch_lock);
		w->next = s->watch_head;
		if (s->watch_head)
			s->watch_head->prev = w;
		s->watch_head = w;
		pthread_mutex_unlock(&s->watch_lock);
		*socket_context = w;
		return;
	}
	struct conn_watch *w = *socket_context;
	if (!w)
		return;
	pthread_mutex_lock(&s->watch_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watch_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->watch_lock);
	free(w);
	*socket_context = NULL;
}

/* The watcher thread: every 100 ms, shuts down the sockets of connections past their request
 * deadline. shutdown() wakes MHD's poll on that socket; MHD reads the end of stream and closes
 * the connection itself (no MHD call from this thread). */
static void *watch_main(void *arg)
{
	struct http_server *s = arg;
	while (!atomic_load(&s->watcher_stop)) {
		usleep(100 * 1000);
		int64_t now = mono_us();
		int n_shut = 0;
		pthread_mutex_lock(&s->watch_lock);
		for (struct conn_watch *w = s->watch_head; w; w = w->next) {
			int64_t deadline_us = atomic_load(&w->deadline_us);
			if (deadline_us && now > deadline_us && !w->shut && w->fd >= 0) {
				shutdown(w->fd, SHUT_RDWR);
				w->shut = true;
				n_shut++;
			}
		}
		pthread_mutex_unlock(&s->watch_lock);
		if (n_shut)
			log_info(
			    "http: closed %d connection(s) whose request did not arrive within "
			    "%lld s",
			    n_shut, (long long)(s->request_timeout_us / 1000000));
	}
	return NULL;
}

/* MHD_OPTION_UNESCAPE_CALLBACK: MHD's own percent-decoding, after noting a %00, which would
 * cut the decoded path or parameter short without a trace (/clients/1%00x/ reading client 1).
 * Other malformed escapes stay literal, as MHD leaves them (a bare % in a phone pattern). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *text)
{
	(void)cls;
	if (strstr(text, "%00")) {
		struct conn_watch *w = watch_of(conn);
		if (w)
			w->nul_escape = true; /* only this connection's own thread touches it */
	}
	return MHD_http_unescape(text);
}

/* RFC 9110 5.6.2: a header name is a token. */
static bool header_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (!(isalnum(*p) || strchr("!#$%&'*+-.^_`|~", *p)))
			return false;
	return true;
}

/* RFC 9110 5.5: no control characters in a value but HTAB. */
static bool header_value_ok(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

/* RFC 9112 2.2 and 5.2: every line of the head ends in CRLF, and a header line starting with a
 * space or tab (obs-fold, the continuation of the previous value) is refused. libmicrohttpd 0.9
 * takes a bare LF as a line end and folds continuation lines (0.9.75 has no option against
 * either; 1.0's MHD_OPTION_CLIENT_DISCIPLINE_LVL came later). It parses the head in place in
 * its read buffer, turning each CR and LF into a NUL, and hands out the request line's strings
 * and every header's name and value as pointers into that buffer, in the order received. So
 * the layout shows the line ends without reading a byte: between the end of one line's text
 * (the version, or a header's value) and the next header's name lie exactly 2 bytes (CR LF; a
 * bare LF leaves 1), and from the last text to the end of the head
 * (MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE) exactly 4 (CR LF of the last line, CR LF of the
 * empty line). A folded header is copied out of the buffer by MHD, so its name or value falls
 * outside the head, or the gaps change. Called for each header, in order. */
static void header_line_check(struct exchange *ex, const char *key, const char *value)
{
	if (!ex->block_start || ex->bad_line)
		return;
	uintptr_t k = (uintptr_t)key, v = (uintptr_t)value;
	uintptr_t key_end = k + strlen(key), value_end = v + (value ? strlen(value) : 0);
	/* name, ':' (now NUL), optional spaces, value; all inside the head, after the last line */
	if (!value || k < ex->block_start || value_end > ex->block_end || k < ex->line_end ||
	    k - ex->line_end != 2 || v <= key_end)
		ex->bad_line = true;
	ex->line_end = value_end;
}

/* After the last header: what remains of the head is the CR LF of the last line and of the
 * empty line. */
static bool header_lines_ok(const struct exchange *ex)
{
	if (!ex->block_start)
		return true; /* the head's size is not known: nothing to compare with */
	return !ex->bad_line && ex->line_end <= ex->block_end && ex->block_end - ex->line_end == 4;
}

/* A header kept once, the last of its repetitions. */
static void keep_last(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct exchange *ex = cls;
	struct request *req = &ex->req;
	(void)kind;
	header_line_check(ex, key, value);
	if (!value)
		value = "";
	if (!header_name_ok(key) || !header_value_ok(value))
		ex->bad_header = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
		ex->n_host++;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		ex->n_content_length++;
		/* MHD itself refuses a value that is not digits or past 2^64 */
		ex->content_length = strtoull(value, NULL, 10);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		ex->n_transfer_encoding++;
		if (strcasecmp(value, "chunked") != 0)
			ex->te_not_chunked = true;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0) {
		ex->n_authorization++;
		keep_last(&req->authorization, value);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0) {
		ex->n_content_type++;
		keep_last(&req->content_type, value);
	} else if (strcasecmp(key, "X-Request-Id") == 0) {
		keep_last(&req->request_id_in, value);
	} else if (strcasecmp(key, "Idempotency-Key") == 0) {
		req->n_idempotency_keys++;
		keep_last(&req->idempotency_key, value);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_COOKIE) == 0) {
		/* HTTP/2 gateways may split the cookies over several headers (RFC 9113 8.2.3). */
		struct buf joined;
		buf_init(&joined);
		if (req->cookie) {
			buf_puts(&joined, req->cookie);
			buf_puts(&joined, "; ");
		}
		buf_puts(&joined, value);
		free(req->cookie);
		req->cookie = buf_steal(&joined, NULL);
	} else if (strcasecmp(key, "X-CSRF-Token") == 0) {
		req->n_csrf_tokens++;
		keep_last(&req->csrf_token, value);
	} else if (strcasecmp(key, "X-Forwarded-Proto") == 0) {
		keep_last(&req->forwarded_proto, value);
	} else if (strcasecmp(key, MHD_HTTP_HEADER_IF_MODIFIED_SINCE) == 0) {
		keep_last(&req->if_modified_since, value);
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

/* What is wrong with the request's framing or headers, or NULL. Content-Length beside
 * Transfer-Encoding, two Content-Lengths or a header name with a space in it are how a request
 * is smuggled past a proxy that reads the framing otherwise (RFC 9112 6.1, 6.3); the answer
 * closes the connection, so nothing left in it is read as a next request. */
static const char *framing_error(const struct exchange *ex, const char *version, bool nul_escape)
{
	if (ex->n_content_length && ex->n_transfer_encoding)
		return "a request may not carry both Content-Length and Transfer-Encoding";
	if (ex->n_content_length > 1 || ex->n_transfer_encoding > 1)
		return "Content-Length and Transfer-Encoding may each be given once";
	if (ex->te_not_chunked)
		return "Transfer-Encoding: only chunked is understood";
	if (ex->bad_header)
		return "a header name is not a token or a header value holds a control character";
	if (!header_lines_ok(ex))
		return "every line of the request head must end in CRLF, and a header may not "
		       "continue on the next line (obs-fold)";
	if (ex->n_host > 1 || (ex->n_host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0))
		return "an HTTP/1.1 request needs exactly one Host header";
	if (ex->n_authorization > 1)
		return "Authorization may be given once";
	if (ex->n_content_type > 1)
		return "Content-Type may be given once";
	if (nul_escape)
		return "the path or a query parameter holds %00";
	return NULL;
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
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)cap);
}

/* The body of a streamed response, as libmicrohttpd asks for it. */
struct stream_body {
	long (*read)(void *ctx, char *buf, size_t max);
	void (*free)(void *ctx);
	void *ctx;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_body *sb = cls;
	(void)pos;
	long n = sb->read(sb->ctx, buf, max);
	if (n > 0)
		return (ssize_t)n;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_done(void *cls)
{
	struct stream_body *sb = cls;
	sb->free(sb->ctx);
	free(sb);
}

/* The MHD response of resp: its buffer copied, or its stream handed over (resp no longer owns
 * it). */
static struct MHD_Response *mhd_response(struct response *resp)
{
	if (!resp->stream)
		return MHD_create_response_from_buffer(
		    resp->body.len, resp->body.data ? resp->body.data : (void *)"",
		    MHD_RESPMEM_MUST_COPY);
	struct stream_body *sb = xmalloc(sizeof(*sb));
	*sb = (struct stream_body){resp->stream, resp->stream_free, resp->stream_ctx};
	resp->stream_ctx = NULL;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
								   stream_read, sb, stream_done);
	if (!r)
		stream_done(sb);
	return r;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct exchange *ex,
				     struct response *resp)
{
	struct MHD_Response *r = mhd_response(resp);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				resp->content_type ? resp->content_type
						   : "application/json;charset=UTF-8");
	MHD_add_response_header(r, "X-Request-Id", ex->req.request_id);
	/* Our own Date, so that MHD does not add one: it formats it with gmtime_r, which takes
	 * glibc's process-wide time-zone lock on every response. */
	char date[HTTP_DATE_BYTES];
	http_date_format((int64_t)time(NULL), date);
	MHD_add_response_header(r, MHD_HTTP_HEADER_DATE, date);
	for (int i = 0; i < resp->n_headers; i++)
		MHD_add_response_header(r, resp->headers[i].key, resp->headers[i].value);
	if (ex->req.framing_error || ex->close_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void log_done(struct exchange *ex, struct response *resp);

/* Sends a handled request's response, logs it, counts it and frees it. */
static enum MHD_Result finish(struct MHD_Connection *conn, struct exchange *ex,
			      struct response *resp)
{
	enum MHD_Result ret = send_response(conn, ex, resp);
	log_done(ex, resp);
	return ret;
}

/* Logs and counts an answered request, and frees its response. */
static void log_done(struct exchange *ex, struct response *resp)
{
	int64_t dur_us = mono_us() - ex->started_us;
	size_t n_routes;
	const char *const *names = api_route_names(&n_routes);
	/* The route template, never the raw path: paths carry ids and tokens. */
	const char *route = resp->route >= 0 ? strchr(names[resp->route], ' ') + 1 : "(unmatched)";
	struct access_entry entry = {.request_id = ex->req.request_id,
				     .method = ex->req.method,
				     .route = route,
				     .status = resp->status,
				     .duration_us = dur_us,
				     .merchant_id = resp->merchant_id,
				     .bytes = resp->body.len};
	log_access(&entry);
	metrics_request(resp->route, resp->status, dur_us);
	response_free(resp);
}

/* A chunked body that passed its route's limit (no length was announced, so the check before
 * the body could not refuse it). MHD 0.9 takes no response while a body is being read
 * (MHD_queue_response refuses it in that state), so the 413 is written to the socket here,
 * the sending side shut (FIN after the answer), and MHD told to close the connection (MHD_NO):
 * nothing more of the body is read. Nothing of this request was sent before. */
static enum MHD_Result refuse_mid_body(struct http_server *s, struct MHD_Connection *conn,
				       struct exchange *ex)
{
	free(ex->req.body);
	ex->req.body = NULL;
	ex->req.body_len = 0;
	struct response resp;
	response_init(&resp);
	api_payload_too_large(s->app, &ex->req, &resp);
	struct buf wire;
	buf_init(&wire);
	char head[512];
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\n"
		 "X-Request-Id: %s\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
		 resp.status, http_reason(resp.status), ex->req.request_id, resp.body.len);
	buf_puts(&wire, head);
	buf_append(&wire, resp.body.data ? resp.body.data : "", resp.body.len);
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (info) {
		size_t off = 0;
		while (off < wire.len) {
			ssize_t n = send(info->connect_fd, wire.data + off, wire.len - off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n <= 0)
				break; /* the client is gone or not reading: the close says enough
					*/
			off += (size_t)n;
		}
		shutdown(info->connect_fd, SHUT_WR);
	}
	buf_free(&wire);
	ex->handled = true;
	if (ex->receiving) {
		ex->receiving = false;
		atomic_fetch_sub(&s->receiving, 1);
	}
	log_done(ex, &resp);
	return MHD_NO;
}

/* The request deadline stops while the server checks a request before its body (the time is
 * the server's, not the client's) and goes on from where it was afterwards. */
static void watch_pause(struct http_server *s, struct exchange *ex, struct conn_watch *w)
{
	ex->deadline_left_us = s->request_timeout_us;
	if (!w)
		return;
	int64_t deadline_us = atomic_exchange(&w->deadline_us, 0);
	if (deadline_us)
		ex->deadline_left_us = deadline_us - mono_us();
}

static void watch_go_on(struct exchange *ex, struct conn_watch *w)
{
	int64_t left = ex->deadline_left_us > 0 ? ex->deadline_left_us : 1;
	watch_set_deadline(w, mono_us() + left);
}

/* Whether the request announces a body: a Content-Length above 0, or chunked. */
static bool body_announced(const struct exchange *ex)
{
	return ex->content_length > 0 || (ex->n_transfer_encoding && !ex->te_not_chunked);
}

static uint64_t announced_length(const struct exchange *ex)
{
	return ex->n_transfer_encoding ? API_LENGTH_UNKNOWN : ex->content_length;
}

/* Answers the request now, before its body (api_refuse_early said no): MHD sends it and closes
 * the connection without reading the body (a response queued before the body does that in
 * 0.9; here it is wanted). */
static enum MHD_Result refuse_before_body(struct http_server *s, struct MHD_Connection *conn,
					  struct exchange *ex)
{
	ex->handled = true;
	ex->close_after = true;
	if (ex->receiving) {
		ex->receiving = false;
		atomic_fetch_sub(&s->receiving, 1);
	}
	return finish(conn, ex, &ex->resp);
}

/* The check before the body of a request that announces one (issue 12 B5): who may not send it,
 * or what is too big, is answered now and its bytes are never read. A write's check (it may
 * wait for an Argon2 verification) goes to the write workers like the write itself, with the
 * connection suspended; a read's runs here, as its authentication would anyway. Returns what
 * the access handler returns. */
static enum MHD_Result precheck(struct http_server *s, struct MHD_Connection *conn,
				struct exchange *ex, const char *method)
{
	response_init(&ex->resp);
	bool write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
	if (write && s->n_workers > 0) {
		pthread_mutex_lock(&s->mu);
		if (!s->workers_stop) {
			watch_pause(s, ex, watch_of(conn));
			MHD_suspend_connection(conn);
			ex->conn = conn;
			ex->prechecking = true;
			if (s->queue_tail)
				s->queue_tail->next = ex;
			else
				s->queue_head = ex;
			s->queue_tail = ex;
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
			return MHD_YES;
		}
		pthread_mutex_unlock(&s->mu);
	}
	if (api_refuse_early(s->app, &ex->req, announced_length(ex), &ex->resp))
		return refuse_before_body(s, conn, ex);
	response_free(&ex->resp);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct exchange *ex = *con_cls;
	if (!ex && atomic_load(&s->stopping)) {
		/* Shutting down: a request that arrives now on a kept-alive connection is not in
		 * flight. Refuse it and close the connection; the client may retry elsewhere. */
		static const char body[] =
		    "{\"error\":\"Service Unavailable\",\"message\":\"the "
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
		const union MHD_ConnectionInfo *head =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
		if (head && version) {
			ex->block_start = (uintptr_t)method;
			ex->block_end = ex->block_start + head->header_size;
			ex->line_end = (uintptr_t)version + strlen(version);
		}
		MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, ex);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &ex->req);
		struct conn_watch *w = watch_of(conn);
		bool nul_escape = w && w->nul_escape;
		if (w)
			w->nul_escape = false;
		ex->req.framing_error = framing_error(ex, version, nul_escape);
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
		/* A request whose framing is wrong is answered now, on this first call, without
		 * reading its body: its length cannot be trusted (or known, for an unknown
		 * Transfer-Encoding). MHD closes the connection after such an early answer, which
		 * is what a refused framing needs. A request that announces a body is checked
		 * before it (precheck); any other is answered after its (empty) body. */
		if (!ex->req.framing_error)
			return body_announced(ex) ? precheck(s, conn, ex, method) : MHD_YES;
	}
	if (ex->prechecking) {
		/* Called again after a write worker ran the check before the body. */
		if (!atomic_load(&ex->answered))
			return MHD_YES;
		ex->prechecking = false;
		ex->conn = NULL;
		atomic_store(&ex->answered, false);
		if (ex->resp.status)
			return refuse_before_body(s, conn, ex);
		response_free(&ex->resp);
		watch_go_on(ex, watch_of(conn));
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the limit keep draining (so the 413 reaches the client) but drop the data;
		 * after an early answer (a refused framing) drop it too. */
		if (!ex->req.body_too_large && !ex->handled) {
			if (ex->req.body_len + *upload_data_size > ex->body_max) {
				/* Only a chunked body gets here (a declared length over the limit
				 * was refused before the body): refused as soon as it passes. */
				return refuse_mid_body(s, conn, ex);
			} else {
				/* Grown by doubling: an upload arrives in many small chunks. */
				size_t need = ex->req.body_len + *upload_data_size + 1;
				if (need > ex->body_cap) {
					size_t cap =
					    need > 2 * ex->body_cap ? need : 2 * ex->body_cap;
					ex->body_cap =
					    cap < ex->body_max + 1 ? cap : ex->body_max + 1;
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
	if (ex->handled) {
		/* Called again after a write worker resumed the connection: answer now. */
		if (ex->conn && atomic_load(&ex->answered)) {
			ex->conn = NULL;
			return finish(conn, ex, &ex->resp);
		}
		return MHD_YES;
	}
	ex->handled = true;
	if (ex->receiving) {
		ex->receiving = false;
		atomic_fetch_sub(&s->receiving, 1);
	}
	/* The whole request is in: from here on the time is the server's (until on_completed). */
	watch_set_deadline(watch_of(conn), 0);
	bool write = strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
	if (write && s->n_workers > 0) {
		pthread_mutex_lock(&s->mu);
		/* Once the workers are stopping (end of a stop), a body completing late is run
		 * here instead, as without workers. */
		if (!s->workers_stop) {
			MHD_suspend_connection(conn);
			ex->conn = conn;
			response_init(&ex->resp);
			if (s->queue_tail)
				s->queue_tail->next = ex;
			else
				s->queue_head = ex;
			s->queue_tail = ex;
			pthread_cond_signal(&s->cv);
			pthread_mutex_unlock(&s->mu);
			return MHD_YES;
		}
		pthread_mutex_unlock(&s->mu);
	}
	struct response resp;
	response_init(&resp);
	api_handle(s->app, &ex->req, &resp);
	return finish(conn, ex, &resp);
}

/* A write worker: runs queued writes to their answer and resumes their connections. */
static void *write_worker(void *arg)
{
	struct http_server *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (!s->queue_head && !s->workers_stop)
			pthread_cond_wait(&s->cv, &s->mu);
		struct exchange *ex = s->queue_head;
		if (!ex) { /* stopping, and nothing left to run */
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		s->queue_head = ex->next;
		if (!s->queue_head)
			s->queue_tail = NULL;
		ex->next = NULL;
		pthread_mutex_unlock(&s->mu);
		if (ex->prechecking) {
			/* the check before the body; resp stays at status 0 when it has nothing
			 * to say */
			if (!api_refuse_early(s->app, &ex->req, announced_length(ex), &ex->resp))
				ex->resp.status = 0;
		} else {
			api_handle(s->app, &ex->req, &ex->resp);
		}
		struct MHD_Connection *conn = ex->conn;
		atomic_store(&ex->answered, true);
		MHD_resume_connection(conn);
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;
	(void)toe;
	/* The next request on this kept-alive connection has its own deadline from now. */
	watch_set_deadline(watch_of(conn), mono_us() + s->request_timeout_us);
	struct exchange *ex = *con_cls;
	if (!ex)
		return;
	if (ex->receiving)
		atomic_fetch_sub(&s->receiving, 1);
	if (ex->conn) /* answered by a worker, never sent: the client went away */
		response_free(&ex->resp);
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
			       int threads, int write_workers)
{
	struct sockaddr_in sa;
	if (!parse_listen(listen, &sa)) {
		log_error("listen address must be IPv4-ADDRESS:PORT, got \"%s\"", listen);
		return NULL;
	}
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->app = app;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->request_timeout_us = cfg->request_timeout_seconds * 1000000;
	pthread_mutex_init(&s->watch_lock, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem opts[] = {
	    /* The logger first, so that MHD's messages about later options use it too. */
	    {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
	    {MHD_OPTION_SOCK_ADDR, 0, &sa},
	    {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s},
	    {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s},
	    {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
	    {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)cfg->max_connections, NULL},
	    {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)cfg->per_ip_connections, NULL},
	    {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)cfg->connection_timeout_seconds, NULL},
	    /* MHD zeroes the whole per-connection pool after every request (and half of it once
	     * more), so its size is paid per request: 64 KiB was a quarter of a prefix search's
	     * instructions. It holds only the request line, headers and response headers
	     * (bodies go to our buffer through the upload callback): 16 KiB takes ~14 KB of
	     * request headers, more is 431 (test_conventions.py). */
	    {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, NULL},
	    {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
	    /* A pool of one is no pool: then MHD's polling thread serves alone. */
	    {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	s->daemon = MHD_start_daemon(flags, ntohs(sa.sin_port), NULL, NULL, on_request, s,
				     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!s->daemon) {
		log_error("cannot listen on %s (address in use or not available)", listen);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->watch_lock);
		free(s);
		return NULL;
	}
	s->workers = xcalloc(write_workers > 0 ? (size_t)write_workers : 1, sizeof(pthread_t));
	for (int i = 0; i < write_workers; i++) {
		if (pthread_create(&s->workers[i], NULL, write_worker, s) != 0)
			break;
		s->n_workers++;
	}
	s->watcher_running = pthread_create(&s->watcher, NULL, watch_main, s) == 0;
	if (!s->watcher_running)
		log_error(
		    "http: cannot start the request deadline thread; requests have no deadline");
	return s;
}

/* Lets the workers drain the queue, then ends them. */
static void workers_stop(struct http_server *s)
{
	pthread_mutex_lock(&s->mu);
	s->workers_stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	s->n_workers = 0;
}

void http_stop(struct http_server *s, int64_t grace_ms)
{
	if (!s)
		return;
	/* From now on every new request, on a new connection or a kept-alive one, is answered
	 * 503 "shutting down; retry" (on_request) and its connection closed. The listening socket
	 * stays open until MHD_stop_daemon: MHD_quiesce_daemon, which closed it here before,
	 * races with the pool's threads in libmicrohttpd 0.9.75 (Debian 12) with epoll: it
	 * removes the socket from each thread's epoll set and aborts the process ("Failed to
	 * remove listen FD from epoll set") when a thread that saw the quiesce flag removed it
	 * first (daemon.c: MHD_epoll tolerates that ENOENT, MHD_quiesce_daemon does not). Seen
	 * once in the suite under ASan, as a SIGTERM exiting with SIGABRT. */
	atomic_store(&s->stopping, true);
	/* Wait for the requests being handled or answered, not for bodies still arriving (see
	 * receiving): one whose body completes now is handled by its thread, which
	 * MHD_stop_daemon joins, and gets no answer, so its client retries it. */
	int64_t deadline = mono_us() + grace_ms * 1000;
	while (atomic_load(&s->in_flight) - atomic_load(&s->receiving) > 0 && mono_us() < deadline)
		usleep(10000);
	/* Before the daemon: a worker resumes its connection, which needs the daemon alive. */
	workers_stop(s);
	MHD_stop_daemon(s->daemon); /* closes every connection: the watch list is empty after */
	atomic_store(&s->watcher_stop, true);
	if (s->watcher_running)
		pthread_join(s->watcher, NULL);
	free(s->workers);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->watch_lock);
	free(s);
}
