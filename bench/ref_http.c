/* ref-http: the HTTP ceiling for the kopilka benchmarks. A minimal libmicrohttpd server that
 * answers every request with the same JSON body of a given size, configured like kopilkad's
 * transport (src/http/server.c): internal polling thread + epoll, a thread pool of N, the
 * response built per request from a copied buffer, the same Content-Type and an X-Request-Id.
 * No auth, no database, no JSON writer: what is left is libmicrohttpd and the kernel.
 *
 *   ref-http PORT BODY_BYTES [THREADS]      (listens on 127.0.0.1 only; SIGTERM/SIGINT stop it)
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *body;
static size_t body_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	if (*con_cls == NULL) { /* first call: headers only */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size) { /* discard any body */
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json;charset=UTF-8");
	MHD_add_response_header(r, "X-Request-Id", "0123456789abcdef0123456789abcdef");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ref-http PORT BODY_BYTES [THREADS]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	body_len = (size_t)atol(argv[2]);
	int threads = argc > 3 ? atoi(argv[3]) : 8;
	body = malloc(body_len + 1);
	/* A JSON array of one object whose string fills the size. */
	memset(body, 'x', body_len);
	if (body_len >= 12) {
		memcpy(body, "[{\"pad\":\"", 9);
		memcpy(body + body_len - 3, "\"}]", 3);
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_CONNECTION_LIMIT, 1024, MHD_OPTION_CONNECTION_TIMEOUT, 30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16 * 1024, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
	    threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "ref-http: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stop)
		pause();
	MHD_stop_daemon(d);
	free(body);
	return 0;
}
