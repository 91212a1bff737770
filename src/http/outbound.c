/* Outbound POSTs with libcurl (see outbound.h). */
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
	(void)data;
	ctx->answer_bytes += size * n;
	return ctx->answer_bytes > OUTBOUND_ANSWER_MAX ? 0 : size * n;
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
	struct outbound_opts opts = {.timeout_ms = timeout_ms, .allow_private = allow_private};
	outbound_post_opts(url, headers, n_headers, body, len, &opts, out);
}

void outbound_post_opts(const char *url, const char *const *headers, size_t n_headers,
			const char *body, size_t len, const struct outbound_opts *opts,
			struct outbound_result *out)
{
	int64_t timeout_ms = opts->timeout_ms;
	memset(out, 0, sizeof(*out));
	struct post_ctx ctx = {.allow_private = opts->allow_private};
	int64_t start = mono_ms();
	CURL *curl = curl_easy_init();
	if (!curl) {
		snprintf(out->error, sizeof(out->error), "libcurl could not start a request");
		return;
	}
	struct curl_slist *list = NULL;
	for (size_t i = 0; i < n_headers; i++)
		list = curl_slist_append(list, headers[i]);
	/* curl adds "Expect: 100-continue" to larger bodies: one round trip less without it. */
	list = curl_slist_append(list, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_USERAGENT,
			 opts->user_agent ? opts->user_agent : "kopilka-webhooks/1");
	if (opts->http2)
		/* https: HTTP/2 negotiated by ALPN; http: HTTP/2 from the first byte (h2c with
		 * prior knowledge), as a server speaking HTTP/2 only expects. */
		curl_easy_setopt(curl, CURLOPT_HTTP_VERSION,
				 strncmp(url, "http://", 7) == 0
				     ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
				     : (long)CURL_HTTP_VERSION_2TLS);
	if (opts->cert_file && opts->key_file) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, opts->cert_file);
		curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(curl, CURLOPT_SSLKEY, opts->key_file);
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
