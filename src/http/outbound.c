/* Outbound requests with libcurl (see outbound.h). */
#include "http/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "domain/webhook.h"

bool outbound_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct post_ctx {
	bool allow_private;
	bool refused;	     /* an address was refused */
	char refused_ip[64]; /* which, for the error */
	size_t answer_bytes; /* read so far */
	struct buf *answer;  /* where the answer goes, or NULL */
};

/* Opens the socket curl asks for, unless its address is one a delivery must not reach. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct post_ctx *ctx = arg;
	(void)purpose;
	if (!ctx->allow_private && webhook_addr_refused(&addr->addr)) {
		ctx->refused = true;
		const void *raw =
		    addr->family == AF_INET6
			? (const void *)&((struct sockaddr_in6 *)&addr->addr)->sin6_addr
			: (const void *)&((struct sockaddr_in *)&addr->addr)->sin_addr;
		if (!inet_ntop(addr->family, raw, ctx->refused_ip, sizeof(ctx->refused_ip)))
			snprintf(ctx->refused_ip, sizeof(ctx->refused_ip), "?");
		return CURL_SOCKET_BAD;
	}
	return socket(addr->family, addr->socktype, addr->protocol);
}

/* Counts the answer and stops reading it past the cap (its status is known by then). */
static size_t read_answer(char *data, size_t size, size_t n, void *arg)
{
	struct post_ctx *ctx = arg;
	ctx->answer_bytes += size * n;
	if (ctx->answer_bytes > OUTBOUND_ANSWER_MAX)
		return 0;
	if (ctx->answer)
		buf_append(ctx->answer, data, size * n);
	return size * n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void outbound_post(const char *url, const char *const *headers, size_t n_headers, const char *body,
		   size_t len, int64_t timeout_ms, bool allow_private, struct outbound_result *out)
{
	struct outbound_request r = {.method = "POST",
				     .url = url,
				     .headers = headers,
				     .n_headers = n_headers,
				     .body = body,
				     .len = len,
				     .timeout_ms = timeout_ms,
				     .allow_private = allow_private};
	outbound_request(&r, out);
}

void outbound_request(const struct outbound_request *r, struct outbound_result *out)
{
	memset(out, 0, sizeof(*out));
	struct post_ctx ctx = {.allow_private = r->allow_private, .answer = r->answer};
	int64_t start = mono_ms();
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(out->error, sizeof(out->error), "libcurl could not start a request");
		return;
	}
	struct curl_slist *list = NULL;
	for (size_t i = 0; i < r->n_headers; i++)
		list = curl_slist_append(list, r->headers[i]);
	/* curl adds "Expect: 100-continue" to larger bodies: one round trip less without it. */
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, r->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	if (r->body) {
		curl_easy_setopt(curl, CURLOPT_POST, 1L);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	}
	if (strcmp(r->method, "POST") != 0 || !r->body)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, r->user_agent ? r->user_agent : "kopilka/1");
	if (r->http2)
		/* https: HTTP/2 negotiated by ALPN; http: HTTP/2 from the first byte (h2c with
		 * prior knowledge), as a server speaking HTTP/2 only expects. */
		curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
				 strncmp(r->url, "http://", 7) == 0
				     ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
				     : (long)CURL_HTTP_VERSION_2TLS);
	if (r->cert_file && r->key_file) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, r->cert_file);
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY, r->key_file);
		curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &ctx);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, read_answer);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
	CURLcode cc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status > 0 && (cc == CURLE_OK || cc == CURLE_WRITE_ERROR)) {
		out->status = status; /* a cut answer still answered */
	} else if (ctx.refused) {
		snprintf(out->error, sizeof(out->error),
			 "refused: %s is not a public address (--webhook-allow-private allows it)",
			 ctx.refused_ip);
	} else {
		snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(cc));
	}
	out->latency_ms = mono_ms() - start;
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
}
