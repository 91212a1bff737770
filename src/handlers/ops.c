/* What operators and integrators use around the API: liveness with the database (/healthz),
 * Prometheus metrics (/metrics), the OpenAPI document (embedded at build time) and the docs
 * page assets (/docs/, files of --docs-dir) with the Postman collection made at build time from
 * the OpenAPI document (/ext/api/v1/postman.json, postman.json of the same directory), and the
 * merchant cabinet's (/lk/, files of --lk-dir).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/metrics.h"
#include "handlers/handlers.h"

/* Generated from api/openapi.json by CMake (openapi_blob.c). */
extern const unsigned char kopilka_openapi_json[];
extern const size_t kopilka_openapi_json_len;

#define DOCS_FILE_MAX (8 * 1024 * 1024)

void ops_healthz(struct call *c)
{
	enum store_rc rc = STORE(c->db, ping);
	struct jw w;
	call_json(c, rc == STORE_OK ? 200 : 503, &w);
	jw_obj_begin(&w);
	jw_kstr(&w, "status", rc == STORE_OK ? "ok" : "unavailable");
	jw_kstr(&w, "database", rc == STORE_OK ? "ok" : "unavailable");
	/* With scheduled backups (--backup-dir): how the last one went. A failing backup leaves
	 * the status 200: the node still serves; monitoring alerts on `backup.status`. */
	if (c->app->cfg->backup_dir && *c->app->cfg->backup_dir) {
		struct metrics_backup bk;
		metrics_backup_get(&bk);
		jw_key(&w, "backup");
		jw_obj_begin(&w);
		jw_kstr(&w, "status", bk.last_failed ? "failing" : bk.last_ms ? "ok" : "pending");
		if (bk.last_ms) {
			jw_kint(&w, "lastAt", bk.last_ms);
			jw_kint(&w, "lastSizeBytes", bk.last_bytes);
			jw_kint(&w, "lastDurationMs", bk.last_duration_us / 1000);
		}
		jw_kint(&w, "failures", bk.failures);
		jw_obj_end(&w);
	}
	jw_obj_end(&w);
}

void ops_metrics(struct call *c)
{
	struct metrics_gauges g = {0};
	c->app->store->ops->pool_stats(c->app->store, &g.db_pool_size, &g.db_pool_in_use);
	c->resp->status = 200;
	c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&c->resp->body);
	metrics_render(&c->resp->body, &g);
}

void ops_openapi(struct call *c)
{
	c->resp->status = 200;
	buf_reset(&c->resp->body);
	buf_append(&c->resp->body, kopilka_openapi_json, kopilka_openapi_json_len);
}

static const char *content_type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".png", "image/png"},
	    {".map", "application/json"},
	    {".json", "application/json;charset=UTF-8"},
	    {".svg", "image/svg+xml"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* A directory of built web assets: the setting's value, else NAME/ beside the running binary (a
 * build tree), else ../share/kopilka/NAME from it (an installed /usr/bin/kopilkad:
 * /usr/share/kopilka/NAME). */
static void assets_dir(const char *setting, const char *name, char *out, size_t cap)
{
	if (setting && *setting) {
		snprintf(out, cap, "%s", setting);
		return;
	}
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, cap, "%s/%s", exe, name);
	struct stat st;
	if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(out, cap, "%s/../share/kopilka/%s", exe, name);
}

/* Answers the file name of dir (a plain name of a known type: no separators, no dot files)
 * or 404 with missing, which says how the directory is built. */
static void send_file(struct call *c, const char *dir, const char *name, const char *missing)
{
	const char *type = content_type_of(name);
	if (!type || name[0] == '.' || strchr(name, '/')) {
		call_error(c, 404, "not_found", "no such file");
		return;
	}
	char path[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > DOCS_FILE_MAX) {
		if (fd >= 0)
			close(fd);
		call_error(c, 404, "not_found", "%s", missing);
		return;
	}
	c->resp->status = 200;
	c->resp->content_type = type;
	buf_reset(&c->resp->body);
	char chunk[65536];
	ssize_t got;
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&c->resp->body, chunk, (size_t)got);
	close(fd);
}

void ops_docs(struct call *c)
{
	char dir[PATH_MAX];
	assets_dir(c->app->cfg->docs_dir, "docs", dir, sizeof(dir));
	send_file(c, dir, c->file ? c->file : "index.html",
		  "no such docs file (the docs page is built by make build into build/docs)");
}

/* The Postman collection: made by scripts/postman.sh into the docs directory. */
void ops_postman(struct call *c)
{
	char dir[PATH_MAX];
	assets_dir(c->app->cfg->docs_dir, "docs", dir, sizeof(dir));
	send_file(c, dir, "postman.json",
		  "no Postman collection (it is made by make build into build/docs/postman.json)");
}

/* The cabinet (/lk/): a single page whose scripts and styles are files of assets/ named by
 * their content's hash, so they may be cached for ever; the page itself never is (a new build
 * is seen at once). Its policy allows this origin's files alone: no inline script, no other
 * host, no framing. Screens are chosen by the URL's fragment (/lk/#/customers), so every
 * path under /lk/ but assets/ is the page. */
void ops_lk(struct call *c)
{
	char dir[PATH_MAX + 16];
	assets_dir(c->app->cfg->lk_dir, "lk", dir, sizeof(dir) - 16);
	bool asset = c->file != NULL;
	if (asset)
		strcat(dir, "/assets");
	send_file(c, dir, asset ? c->file : "index.html",
		  "no such cabinet file (the cabinet is built by make build into build/lk)");
	if (c->resp->status != 200)
		return;
	response_header(c->resp, "Cache-Control",
			asset ? "public, max-age=31536000, immutable" : "no-cache");
	response_header(c->resp, "Content-Security-Policy",
			"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
			"script-src 'self'; connect-src 'self'; object-src 'none'; "
			"frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	response_header(c->resp, "X-Frame-Options", "DENY");
	response_header(c->resp, "X-Content-Type-Options", "nosniff");
	response_header(c->resp, "Referrer-Policy", "same-origin");
}
