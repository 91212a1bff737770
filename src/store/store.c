/* Engine-independent parts of the storage interface: choosing the engine from the --db value,
 * showing that value in logs, and running a write where it is called. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg.h"
#include "store/sqlite.h"

struct store *store_open(const char *uri, const struct store_options *opt, char *err_buf,
			 size_t err_len)
{
	if (!uri || !*uri) {
		snprintf(err_buf, err_len, "--db is required");
		return NULL;
	}
	if (!store_uri_is_file(uri))
		return pg_store_open(uri, opt, err_buf, err_len);
	return sqlite_store_open(uri, opt, err_buf, err_len);
}

enum store_rc store_run_write_here(struct store_conn *c, void (*job)(void *arg), void *arg)
{
	(void)c;
	job(arg);
	return STORE_OK;
}

bool store_uri_is_file(const char *uri)
{
	return strncmp(uri, "postgres://", 11) != 0 && strncmp(uri, "postgresql://", 13) != 0;
}

void store_uri_display(const char *uri, char *out, size_t cap)
{
	if (store_uri_is_file(uri)) {
		snprintf(out, cap, "%s", uri);
		return;
	}
	/* scheme://[user[:password]@]host[:port][/dbname][?params] */
	const char *authority = strstr(uri, "://") + 3;
	size_t authority_len = strcspn(authority, "/?");
	const char *path = authority + authority_len;
	size_t path_len = strcspn(path, "?");
	const char *at = NULL;
	for (const char *p = authority; p < path; p++)
		if (*p == '@')
			at = p; /* the last '@' ends the user info */
	size_t user_len = 0;
	if (at) {
		const char *colon = memchr(authority, ':', (size_t)(at - authority));
		user_len = (size_t)((colon ? colon : at) - authority);
	}
	const char *host = at ? at + 1 : authority;
	snprintf(out, cap, "%.*s%.*s%s%.*s%.*s", (int)(authority - uri), uri, (int)user_len,
		 authority, at ? "@" : "", (int)(path - host), host, (int)path_len, path);
}
