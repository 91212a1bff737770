/* What the API fuzz targets share: one kopilkad on a throw-away SQLite database (a merchant,
 * its owner, a client with points and a coupon, a catalog coupon, a sale), reached through
 * api_handle() exactly as the transport reaches it, without a socket. Not a target itself. */
#ifndef KOPILKA_FUZZ_APP_H
#define KOPILKA_FUZZ_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

/* The owner's Authorization header value ("Basic ..."). */
extern const char *fuzz_owner_authorization;

/* Sets up the database, the authenticator and the seed data on the first call; later calls do
 * nothing. Aborts when the set-up fails (a harness error, not a finding). The database lives
 * in a temporary directory removed at exit. */
void fuzz_app_init(void);

/* Sends one request through api_handle(). req->path and the strings it points to are the
 * caller's, as are the query and the body; body, when not NULL, must have a NUL at body[len]
 * (the transport's guarantee). Returns the status; the response is freed. Aborts (a finding)
 * on an answer no request may get: a 5xx, a status outside the API's, broken JSON. */
int fuzz_app_call(struct request *req);

/* A request for method and path (copied) with the owner's credential, a JSON body of len
 * bytes (copied, NUL-terminated; NULL: none), and no query. fuzz_app_request_free() frees it. */
void fuzz_app_request(struct request *req, const char *method, const char *path, const char *body,
		      size_t len);
void fuzz_app_request_free(struct request *req);

/* Splits a raw query string ("a=1&b=%20x") into req->query the way libmicrohttpd does for the
 * transport: '&' separates, the first '=' splits key from value (none: empty value), '+' is a
 * space and %XX escapes are decoded by MHD_http_unescape. */
void fuzz_app_query(struct request *req, const char *query, size_t len);

#endif
