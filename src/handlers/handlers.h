/* Request handlers, one file per resource. Each gets a call whose auth, role, path ids and JSON
 * body the router has already checked, and fills the response. */
#ifndef KOPILKA_HANDLERS_HANDLERS_H
#define KOPILKA_HANDLERS_HANDLERS_H

#include "api/call.h"

/* clients.c */
void clients_list(struct call *c);
void clients_create(struct call *c);
void client_coupons_list(struct call *c);
void client_coupons_issue(struct call *c);
void client_balance(struct call *c);

/* orders.c */
void orders_create(struct call *c);

/* loyalty.c */
void loyalty_settings_get(struct call *c);
void loyalty_settings_put(struct call *c);
void catalog_list(struct call *c);
void catalog_create(struct call *c);
void catalog_get(struct call *c);

#endif
