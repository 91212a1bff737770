/* The model's enum names and the destroy functions of its structs (domain/model.h). */
#include "domain/model.h"

#include <stdlib.h>
#include <string.h>

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
	static const char *const names[] = {"accrual",	    "spend",  "refund_accrual",
					    "refund_spend", "expire", "hold",
					    "release",	    "adjust", "opening"};
	return names[t];
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
	free(c->birthday);
	free(c->consent_version);
	memset(c, 0, sizeof(*c));
}

void enrolment_clear(struct enrolment *e)
{
	free(e->phone);
	free(e->name);
	free(e->email);
	free(e->birthday);
	free(e->consent_version);
	free(e->addr);
	memset(e, 0, sizeof(*e));
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
	free(o->fp);
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
