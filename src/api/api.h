/* The API layer's request and response, independent of any HTTP library: the transport fills a
 * struct request, calls api_handle(), and sends back the struct response. Tests can do the same
 * without a socket. */
#ifndef KOPILKA_API_API_H
#define KOPILKA_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/util.h"
#include "store/store.h"

/* Largest request body read (API.md section 1); larger is 413. */
#define API_BODY_MAX (1024 * 1024)
/* Largest image an upload route takes (API.md 4.4), and its body limit: the image plus room
 * for the multipart framing and a few small other fields. */
#define API_UPLOAD_FILE_MAX (2 * 1024 * 1024)
#define API_UPLOAD_BODY_MAX (API_UPLOAD_FILE_MAX + 64 * 1024)
/* The public reaction form (POST /r/{token}) takes no credentials, so anyone may send it: its
 * body (a reaction and a comment of at most 1024 characters, form-encoded: ~12 KB) is held to
 * this, not to API_BODY_MAX. */
#define API_FORM_BODY_MAX (64 * 1024)
/* A customer import's CSV file (API.md 2.6): 20 MiB, plus room for multipart framing. */
#define API_IMPORT_FILE_MAX (20 * 1024 * 1024)
#define API_IMPORT_BODY_MAX (API_IMPORT_FILE_MAX + 64 * 1024)
#define API_BASE "/ext/api/v1"

struct kv {
	char *key;
	char *value;
};

struct request {
	const char *method;
	char *path; /* decoded, without the query string */
	struct kv *query;
	size_t n_query;
	char *authorization, *content_type, *request_id_in;
	char *idempotency_key; /* the Idempotency-Key header (the last one when repeated) */
	int n_idempotency_keys;
	/* The cabinet's session (api/session.c): every Cookie header joined by "; ", the
	 * X-CSRF-Token header (the last one; n_csrf_tokens counts them) and X-Forwarded-Proto
	 * (the last one; believed only from a --trusted-proxy address). */
	char *cookie, *csrf_token, *forwarded_proto;
	char *if_modified_since; /* the last If-Modified-Since (the PassKit web service's pass) */
	int n_csrf_tokens;
	char *body;
	size_t body_len;
	bool body_too_large; /* the transport stopped reading at api_body_max() */
	/* Set by the transport when the request is malformed at the HTTP level (Content-Length
	 * with Transfer-Encoding, a repeated Host or Authorization, a header name that is not a
	 * token, %00 in the path or query): api_handle answers 400 with this text (static) before
	 * anything else, and the transport closes the connection after the answer. */
	const char *framing_error;
	char remote_addr[64];
	char request_id[65]; /* set by the transport */
};

#define RESPONSE_MAX_HEADERS 8

struct response {
	int status;
	struct buf body;
	struct kv headers[RESPONSE_MAX_HEADERS];
	int n_headers;
	int64_t merchant_id;	  /* for the access log; 0: none */
	int route;		  /* index into the route table; -1: none matched */
	const char *content_type; /* NULL: application/json;charset=UTF-8 */
	/* A body made while it is sent (the CSV exports), instead of `body`: the transport calls
	 * stream(stream_ctx, buf, max) for up to max next bytes until it answers 0 (the end) or
	 * -1 (failed: the connection is cut, the client sees a truncated body), then
	 * stream_free(stream_ctx) once. response_free frees a stream never handed over. */
	long (*stream)(void *ctx, char *buf, size_t max);
	void (*stream_free)(void *ctx);
	void *stream_ctx;
};

struct auth;
struct gwallet;

/* What a request handler can reach: set up once by serve. */
struct app {
	struct store *store;
	const struct config *cfg;
	struct auth *auth;
	bool metrics_only;     /* this listener serves /metrics alone (--metrics-listen) */
	const char *media_dir; /* where uploaded images live (--media-dir, resolved) */
	/* Signs the Apple Wallet passes (service/wallet.h); NULL: the --wallet-* settings are
	 * not set and there are no passes. */
	const struct wallet_signer *wallet;
	const struct gwallet *gwallet; /* "Save to Google Wallet" links; NULL: not configured */
	/* The join page's consent text (--consent-file, read at start-up); NULL: the built-in
	 * one (handlers/enrol.c). */
	const char *consent_text;
};

/* Handles one request: routing, authentication, body parsing and validation, the handler, and
 * every error body. Never fails: resp is always filled. The caller owns req and resp. */
void api_handle(struct app *app, struct request *req, struct response *resp);

/* The most body bytes the transport keeps for this request line: API_UPLOAD_BODY_MAX on the
 * upload routes, API_FORM_BODY_MAX on the public form, API_BODY_MAX everywhere else. Past it
 * the body is dropped and req->body_too_large set. */
size_t api_body_max(const char *method, const char *path);

/* What the transport calls once a request's head is in and it announces a body, before reading
 * any of it (issue 12 B5: a body nobody may send must not be held in memory). Answers, with
 * resp filled and true returned, what the body cannot change: an unknown path (404) or method
 * (405), a path id that names nothing (404), missing or wrong credentials (401, 429), a role
 * that may not (403), a declared content_length over the route's limit (413; pass
 * API_LENGTH_UNKNOWN for a chunked body). false: resp is untouched in substance (status 0);
 * read the body, then call api_handle, which checks everything again (a credential revoked
 * while the body arrived is refused then). May run an Argon2 verification (auth_check). */
#define API_LENGTH_UNKNOWN UINT64_MAX
bool api_refuse_early(struct app *app, struct request *req, uint64_t content_length,
		      struct response *resp) MUST_CHECK;

/* Answers a request whose body passed its route's limit (req->body holds none of it): the
 * route's own 413, after the checks before the body. */
void api_payload_too_large(struct app *app, struct request *req, struct response *resp);

/* The route table's names, "METHOD /pattern", index = struct response.route. */
const char *const *api_route_names(size_t *n);

void request_free(struct request *req);
void response_init(struct response *resp);
void response_free(struct response *resp);
/* Adds a header (both strings copied). */
void response_header(struct response *resp, const char *key, const char *value);
/* The value of a query parameter, or NULL. When it occurs several times, the first. */
const char *request_query(const struct request *req, const char *key);

/* The HTTP reason phrase of a status. */
const char *http_reason(int status);

#endif
