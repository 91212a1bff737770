/* readload: sends an exact number of GET requests to kopilkad over keep-alive connections and
 * reports the rate. wrk runs for a time; counting what a request costs the server (futex calls
 * under strace or perf, docs/PERFORMANCE.md "Reads without process-wide locks") needs a fixed
 * number of requests instead.
 *
 *   readload --port P [--host 127.0.0.1] [--conns 16] [--requests 20000] [--auth VALUE]
 *            [--path /ext/api/v1/clients/?phone=79{nn}%25&limit=10]
 *
 * Each connection is one thread sending a request and reading its answer, requests/conns of
 * them (the first connections take the remainder). Every "{nn}" of the path is replaced by two
 * digits drawn per request from a generator seeded by the connection's number, so two runs
 * send the same requests. Prints one line: requests, non-2xx answers, failed connections,
 * seconds, requests/s, p50 and p99 latency in microseconds. Exits 1 when any request failed
 * or was not answered 2xx. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct options {
	const char *host, *path, *auth;
	int port, conns;
	long requests;
};

struct worker {
	const struct options *opt;
	int index;
	long requests;	 /* to send */
	long non2xx;	 /* answered, but not 2xx */
	bool failed;	 /* the connection broke; the rest of its requests were not sent */
	int64_t *lat_us; /* one per request sent */
	long n_lat;
};

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int dial(const struct options *opt)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (inet_pton(AF_INET, opt->host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The path with each "{nn}" replaced by two digits from *rng. */
static void make_path(const char *tmpl, uint64_t *rng, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 3 < cap;) {
		if (strncmp(p, "{nn}", 4) == 0) {
			*rng ^= *rng << 13;
			*rng ^= *rng >> 7;
			*rng ^= *rng << 17;
			unsigned v = (unsigned)(*rng % 100);
			out[n++] = (char)('0' + v / 10);
			out[n++] = (char)('0' + v % 10);
			p += 4;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = '\0';
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Reads one answer (headers with a Content-Length, then that many bytes). Returns its status,
 * or -1 when the connection broke or the answer is not one this tool understands. buf holds
 * bytes read past the answer for the next one (*have of them). */
static int read_answer(int fd, char *buf, size_t cap, size_t *have)
{
	char *end;
	for (;;) {
		buf[*have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")))
			break;
		if (*have + 1 >= cap)
			return -1;
		ssize_t n = recv(fd, buf + *have, cap - 1 - *have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	int status;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	const char *cl = strcasestr(buf, "\r\ncontent-length:");
	if (!cl || cl > end)
		return -1;
	size_t body = strtoul(cl + 17, NULL, 10);
	size_t total = (size_t)(end + 4 - buf) + body;
	while (*have < total) {
		/* A body bigger than the buffer is read and dropped in pieces. */
		size_t room = cap - 1 - *have;
		if (room == 0) {
			total -= *have;
			*have = 0;
			room = cap - 1;
		}
		ssize_t n = recv(fd, buf + *have, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
	memmove(buf, buf + total, *have - total);
	*have -= total;
	return status;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct options *opt = w->opt;
	int fd = dial(opt);
	if (fd < 0) {
		w->failed = true;
		return NULL;
	}
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w->index + 1);
	char *buf = malloc(65536);
	size_t have = 0;
	char path[1024], req[2048];
	for (long i = 0; i < w->requests; i++) {
		make_path(opt->path, &rng, path, sizeof(path));
		int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%s\r\n",
				   path, opt->host, opt->port, opt->auth ? "Authorization: " : "",
				   opt->auth ? opt->auth : "", opt->auth ? "\r\n" : "");
		if (len < 0 || (size_t)len >= sizeof(req)) {
			w->failed = true;
			break;
		}
		int64_t t0 = mono_us();
		if (!send_all(fd, req, (size_t)len)) {
			w->failed = true;
			break;
		}
		int status = read_answer(fd, buf, 65536, &have);
		if (status < 0) {
			w->failed = true;
			break;
		}
		w->lat_us[w->n_lat++] = mono_us() - t0;
		if (status < 200 || status > 299)
			w->non2xx++;
	}
	free(buf);
	close(fd);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: readload --port P [--host H] [--conns N] [--requests M] "
			"[--auth VALUE] [--path PATH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct options opt = {.host = "127.0.0.1",
			      .path = "/ext/api/v1/clients/?phone=79{nn}%25&limit=10",
			      .conns = 16,
			      .requests = 20000};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (strcmp(a, "--host") == 0)
			opt.host = v;
		else if (strcmp(a, "--port") == 0)
			opt.port = atoi(v);
		else if (strcmp(a, "--conns") == 0)
			opt.conns = atoi(v);
		else if (strcmp(a, "--requests") == 0)
			opt.requests = atol(v);
		else if (strcmp(a, "--auth") == 0)
			opt.auth = v;
		else if (strcmp(a, "--path") == 0)
			opt.path = v;
		else
			usage();
	}
	if (opt.port <= 0 || opt.port > 65535 || opt.conns <= 0 || opt.requests < opt.conns)
		usage();
	struct worker *ws = calloc((size_t)opt.conns, sizeof(*ws));
	pthread_t *ts = calloc((size_t)opt.conns, sizeof(*ts));
	for (int i = 0; i < opt.conns; i++) {
		ws[i].opt = &opt;
		ws[i].index = i;
		ws[i].requests = opt.requests / opt.conns + (i < opt.requests % opt.conns);
		ws[i].lat_us = calloc((size_t)ws[i].requests, sizeof(int64_t));
	}
	int64_t t0 = mono_us();
	for (int i = 0; i < opt.conns; i++)
		if (pthread_create(&ts[i], NULL, run, &ws[i]) != 0) {
			perror("readload: pthread_create");
			return 1;
		}
	for (int i = 0; i < opt.conns; i++)
		pthread_join(ts[i], NULL);
	double secs = (double)(mono_us() - t0) / 1e6;
	long sent = 0, non2xx = 0, failed = 0;
	for (int i = 0; i < opt.conns; i++) {
		sent += ws[i].n_lat;
		non2xx += ws[i].non2xx;
		failed += ws[i].failed;
	}
	int64_t *all = calloc((size_t)sent + 1, sizeof(int64_t));
	long k = 0;
	for (int i = 0; i < opt.conns; i++) {
		memcpy(all + k, ws[i].lat_us, (size_t)ws[i].n_lat * sizeof(int64_t));
		k += ws[i].n_lat;
	}
	qsort(all, (size_t)sent, sizeof(int64_t), cmp_i64);
	printf("requests %ld non2xx %ld failed_conns %ld seconds %.3f rps %.0f p50_us %lld "
	       "p99_us %lld\n",
	       sent, non2xx, failed, secs, secs > 0 ? (double)sent / secs : 0.0,
	       sent ? (long long)all[sent / 2] : 0LL, sent ? (long long)all[sent * 99 / 100] : 0LL);
	for (int i = 0; i < opt.conns; i++)
		free(ws[i].lat_us);
	free(all);
	free(ws);
	free(ts);
	return sent == opt.requests && non2xx == 0 && failed == 0 ? 0 : 1;
}
