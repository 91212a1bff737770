/* Orders after the fact: a customer's reaction to an order (API.md 6). No HTTP here. */
#ifndef KOPILKA_SERVICE_ORDERS_H
#define KOPILKA_SERVICE_ORDERS_H

#include "store/store.h"

/* Records reaction (1 positive, 2 neutral, 3 negative) and comment on order o as read; the
 * client's review counts follow it (a changed reaction moves from one count to the other). */
enum store_rc order_react(struct store_conn *db, const struct order *o, int reaction,
			  const char *comment) MUST_CHECK;

#endif
