/* libkopilka transport: one logical API call as HTTP attempts over libcurl (an easy handle per
 * attempt, so threads share nothing), retried on network errors, 408, 429 and 5xx with
 * exponential backoff and jitter, Retry-After honoured, within the handle's attempt and time
 * budget; every attempt carries the same body and Idempotency-Key. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

#define API_BASE "/ext/api/v1"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

enum kopilka_status kk_http_global_init(struct kopilka_error *err)
{
	if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "libcurl failed to initialize");
	return KOPILKA_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static bool random_bytes(void *out, size_t len)
{
	unsigned char *p = out;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

enum kopilka_status kk_new_idem_key(char *key, struct kopilka_error *err)
{
	unsigned char raw[16];
	if (!random_bytes(raw, sizeof(raw)))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "no random source for an Idempotency-Key");
	static const char hex[] = "0123456789abcdef";
	memcpy(key, "kpl-", 4);
	for (size_t i = 0; i < sizeof(raw); i++) {
		key[4 + 2 * i] = hex[raw[i] >> 4];
		key[5 + 2 * i] = hex[raw[i] & 15];
	}
	key[4 + 2 * sizeof(raw)] = '\0';
	return KOPILKA_OK;
}

/* The pause before attempt `attempt` + 1: backoff_initial * 2^(attempt-1), capped, of which a
 * random half is jitter, so that terminals that lost the same server do not come back at once. */
static long backoff_ms(const kopilka *h, int attempt)
{
	long delay = h->backoff_initial_ms;
	for (int i = 1; i < attempt && delay < h->backoff_max_ms; i++)
		delay *= 2;
	if (delay > h->backoff_max_ms)
		delay = h->backoff_max_ms;
	unsigned int r = 0;
	if (delay >= 2 && random_bytes(&r, sizeof(r)))
		delay = delay / 2 + (long)(r % (unsigned int)(delay / 2 + 1));
	return delay;
}

struct answer_buf {
	char *data;
	size_t len, cap;
	bool too_big, oom;
	char retry_after[32];
};

static size_t on_body(char *chunk, size_t size, size_t nmemb, void *userdata)
{
	struct answer_buf *b = userdata;
	size_t n = size * nmemb;
	if (b->len + n > KK_MAX_ANSWER) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (!grown) {
			b->oom = true;
			return 0;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, chunk, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct answer_buf *b = userdata;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0) {
		size_t vlen = n - (sizeof(name) - 1);
		if (vlen >= sizeof(b->retry_after))
			vlen = sizeof(b->retry_after) - 1;
		memcpy(b->retry_after, line + sizeof(name) - 1, vlen);
		b->retry_after[vlen] = '\0';
	} else if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue or a redirect): forget the last one's. */
		b->retry_after[0] = '\0';
	}
	return n;
}

static bool path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			return false;
	return true;
}

static bool method_ok(const char *method)
{
	return method && (strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0 ||
			  strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0);
}

/* Whether a transfer that failed in libcurl may work when tried again unchanged. */
static bool curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
		return true;
	default:
		return false;
	}
}

/* One attempt. Returns OK with *http_status and the answer in b, or a NETWORK/NOMEM/PROTOCOL
 * failure in err. */
static enum kopilka_status attempt_once(kopilka *h, const struct kk_request *req, const char *url,
					long timeout_ms, long *http_status, struct answer_buf *b,
					struct kopilka_error *err)
{
	enum kopilka_status st = KOPILKA_OK;
	struct curl_slist *headers = NULL, *grown;
	CURL *curl = curl_easy_init();
	if (!curl)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (curl handle)");

	char idem[KK_IDEM_KEY_MAX + 32];
	const char *lines[4] = {"Accept: application/json", "Expect:", NULL, NULL};
	if (req->body)
		lines[2] = "Content-Type: application/json";
	if (req->idem_key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", req->idem_key);
		lines[3] = idem;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!lines[i])
			continue;
		grown = curl_slist_append(headers, lines[i]);
		if (!grown) {
			st = kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (headers)");
			goto cleanup;
		}
		headers = grown;
	}

	CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(curl, opt, val);                                     \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    h->connect_timeout_ms < timeout_ms ? h->connect_timeout_ms : timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, b);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, b);
	SET(CURLOPT_USERAGENT, h->user_agent);
	SET(CURLOPT_SSL_VERIFYPEER, h->verify_tls ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, h->verify_tls ? 2L : 0L);
	if (h->login) {
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SET(CURLOPT_USERNAME, h->login);
		SET(CURLOPT_PASSWORD, h->password ? h->password : "");
	}
	if (strcmp(req->method, "GET") == 0) {
		SET(CURLOPT_HTTPGET, 1L);
	} else {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body || strcmp(req->method, "DELETE") != 0) {
			const char *body = req->body ? req->body : "";
			SET(CURLOPT_POSTFIELDS, body);
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
		}
	}
#undef SET
	if (rc != CURLE_OK) {
		st = kk_fail(err,
			     rc == CURLE_OUT_OF_MEMORY ? KOPILKA_ERR_NOMEM : KOPILKA_ERR_INVALID, 0,
			     "libcurl: %s", curl_easy_strerror(rc));
		goto cleanup;
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		if (b->oom || rc == CURLE_OUT_OF_MEMORY)
			st = kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (answer)");
		else if (b->too_big)
			st = kk_fail(err, KOPILKA_ERR_PROTOCOL, 0, "the answer is over %u bytes",
				     KK_MAX_ANSWER);
		else
			st = kk_fail(err, KOPILKA_ERR_NETWORK, curl_retryable(rc), "%s: %s",
				     rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "network",
				     curl_easy_strerror(rc));
		goto cleanup;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http_status);
cleanup:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return st;
}

enum kopilka_status kk_http_call(kopilka *h, const struct kk_request *req, json_t **answer,
				 struct kopilka_error *err_out)
{
	struct kopilka_error local;
	struct kopilka_error *err = err_out ? err_out : &local;
	*answer = NULL;
	memset(err, 0, sizeof(*err));
	if (!method_ok(req->method))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "method: one of GET, POST, PUT, DELETE, not %s",
			       req->method ? req->method : "NULL");
	if (!path_ok(req->path))
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "path: starts with / and holds no spaces or control characters "
			       "(URL-encode the query)");
	const char *prefix = strncmp(req->path, "/ext/", 5) == 0 ? "" : API_BASE;
	size_t url_len = strlen(h->base_url) + strlen(prefix) + strlen(req->path) + 1;
	char *url = malloc(url_len);
	if (!url)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory (url)");
	snprintf(url, url_len, "%s%s%s", h->base_url, prefix, req->path);

	enum kopilka_status st = KOPILKA_OK;
	int64_t deadline = now_ms() + h->retry_budget_ms;
	for (int attempt = 1;; attempt++) {
		long remaining = (long)(deadline - now_ms());
		long timeout = h->request_timeout_ms;
		if (attempt > 1 && remaining < timeout)
			timeout = remaining > 1 ? remaining : 1;
		struct answer_buf b = {0};
		long http_status = 0;
		err->attempts = attempt;
		st = attempt_once(h, req, url, timeout, &http_status, &b, err);
		if (st == KOPILKA_OK) {
			if (http_status >= 200 && http_status < 300) {
				err->http_status = (int)http_status;
				st = kk_parse_answer(b.data, b.len, answer, err);
				err->attempts = attempt;
				err->http_status = (int)http_status;
			} else {
				st = kk_error_from_answer(err, http_status, b.data, b.len,
							  b.retry_after[0] ? b.retry_after : NULL);
			}
		}
		free(b.data);
		bool retryable =
		    (st == KOPILKA_ERR_NETWORK || st == KOPILKA_ERR_HTTP) && err->retryable;
		if (st == KOPILKA_OK || !retryable || attempt >= h->max_attempts)
			break;
		long delay = backoff_ms(h, attempt);
		if (err->retry_after_ms > delay)
			delay = err->retry_after_ms;
		if (now_ms() + delay >= deadline)
			break;
		sleep_ms(delay);
	}
	free(url);
	return st;
}
