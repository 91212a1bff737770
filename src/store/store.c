/* Engine-independent parts of the storage interface: choosing the engine from the --db value,
 * the enum names, and the destroy functions of the row structs. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg.h"
#include "store/sqlite.h"

static const char *const currency_names[CURRENCY_COUNT] = {"points", "rubles"};

const char *currency_name(enum currency c)
{
	return currency_names[c];
}

int currency_parse(const char *name)
{
	for (int i = 0; i < CURRENCY_COUNT; i++)
		if (strcmp(name, currency_names[i]) == 0)
			return i;
	return -1;
}

const char *ledger_type_name(enum ledger_type t)
{
	static const char *const names[] = {"accrual", "spend",   "refund_accrual", "refund_spend",
					    "expire",  "hold",    "release",	    "adjust"};
	return names[t];
}

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

void account_clear(struct account *a)
{
	free(a->email);
	free(a->phone);
	free(a->password_hash);
	free(a->first_name);
	free(a->last_name);
	free(a->inn);
	memset(a, 0, sizeof(*a));
}

void client_clear(struct client *c)
{
	free(c->email);
	free(c->phone);
	free(c->name);
	free(c->avatar_url);
	memset(c, 0, sizeof(*c));
}

void catalog_coupon_clear(struct catalog_coupon *c)
{
	free(c->title);
	free(c->header);
	free(c->sub_header);
	free(c->short_description);
	free(c->long_description);
	free(c->image_path);
	free(c->style);
	memset(c, 0, sizeof(*c));
}

void coupon_instance_clear(struct coupon_instance *c)
{
	catalog_coupon_clear(&c->catalog);
	memset(c, 0, sizeof(*c));
}

void order_clear(struct order *o)
{
	free(o->external_id);
	free(o->fn);
	free(o->fd);
	free(o->comment);
	free(o->public_token);
	free(o->request_hash);
	free(o->customer_comment);
	free(o->response);
	free(o->refund_key);
	memset(o, 0, sizeof(*o));
}

void order_item_clear(struct order_item *i)
{
	free(i->name);
	free(i->product_id);
	memset(i, 0, sizeof(*i));
}

void sale_point_clear(struct sale_point *sp)
{
	free(sp->region);
	free(sp->city);
	free(sp->address);
	free(sp->phone);
	memset(sp, 0, sizeof(*sp));
}

void hold_clear(struct hold *h)
{
	free(h->fiscal_order_id);
	memset(h, 0, sizeof(*h));
}
