/* HTTP transport on libmicrohttpd: collects each request into a struct request, hands it to
 * api_handle() and sends the struct response back. Knows nothing about the API itself. */
#ifndef KOPILKA_HTTP_SERVER_H
#define KOPILKA_HTTP_SERVER_H

#include "api/api.h"
#include "core/config.h"

struct http_server;

/* Starts serving on listen (IPv4:port) with `threads` HTTP threads, `write_workers` threads
 * that run POST/PUT/DELETE requests off them (0: run on the HTTP threads), and the connection
 * limits of cfg. Returns NULL after logging why when the address is bad or taken. */
struct http_server *http_start(struct app *app, const struct config *cfg, const char *listen,
			       int threads, int write_workers);

/* Stops accepting, waits up to grace_ms for the requests in flight to finish, then stops. */
void http_stop(struct http_server *s, int64_t grace_ms);

#endif
