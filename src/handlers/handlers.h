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
void client_balance_history(struct call *c);
void client_view(struct call *c);
void client_coupon_lookup(struct call *c);
void clients_update(struct call *c);
void client_personal_data(struct call *c);
void client_erase(struct call *c);
void coupon_share_redeem(struct call *c);

/* orders.c */
void orders_create(struct call *c);
void orders_create_test(struct call *c);
void hub_refund(struct call *c);

/* holds.c: two-phase spends (API.md 4.3) and direct write-offs (4.1) */
void holds_create(struct call *c);
void holds_write_off(struct call *c);
void holds_cancel(struct call *c);
void client_balance_write_off(struct call *c);
void client_balance_adjust(struct call *c);

/* imports.c: customer imports (API.md 2.6) and the CSV exports (2.7) */
void imports_create(struct call *c);
void imports_get(struct call *c);
void imports_apply(struct call *c);
void exports_clients(struct call *c);
void exports_orders(struct call *c);

/* orders_read.c */
void fiscal_orders_get(struct call *c);
void fiscal_order_get(struct call *c);
void order_items_list(struct call *c);
void order_reaction(struct call *c);
void receipt_page(struct call *c);
void receipt_react(struct call *c);
/* The customer's card page, GET /c/{client token} (handlers/card.c). */
void card_page(struct call *c);
/* The card as an Apple Wallet pass, GET /c/{client token}/pass.pkpass (handlers/card.c). */
void card_pass(struct call *c);
/* The .pkpass of the card of client token into c's answer (the read transaction its own; 404
 * when no client has that token). web_service: the PassKit web service's "latest pass":
 * Last-Modified from the pass's update tag, 304 when If-Modified-Since is as new. */
void card_pass_send(struct call *c, const char *token, bool web_service);

/* Apple's PassKit web service (handlers/passkit.c), under /wallet/v1/: a device registers for
 * a pass's updates, unregisters, asks which passes changed, fetches the latest pass, logs. */
void passkit_register(struct call *c);
void passkit_unregister(struct call *c);
void passkit_serials(struct call *c);
void passkit_pass(struct call *c);
void passkit_log(struct call *c);
/* The passes' webServiceURL (--public-url and /wallet) into out; false when passes carry none:
 * Apple wants https, and an http:// --public-url is taken only with --wallet-allow-http 1. */
bool passkit_service_url(const struct config *cfg, char *out, size_t cap);
/* GET /c/{token}/gwallet: 303 to the card's "Save to Google Wallet" link; 404 when Google
 * Wallet is not configured or the token names no client. */
void card_gwallet(struct call *c);

/* enrol.c: self-enrolment on the merchant's public join page (docs/CARD.md, "Joining") */
void enrol_page(struct call *c);	 /* GET /j/{join code} */
void enrol_submit(struct call *c);	 /* POST /j/{join code} */
void enrol_confirm_page(struct call *c); /* GET /j/{join code}/confirm?t= */
void enrol_confirm(struct call *c);	 /* POST /j/{join code}/confirm */
/* The consent text the join page shows: --consent-file's, else the built-in one. */
const char *enrol_consent_text(const struct app *app);

/* staff.c */
void fiscal_auth(struct call *c);

/* loyalty.c */
void loyalty_settings_get(struct call *c);
void loyalty_settings_put(struct call *c);
void catalog_coupons_get(struct call *c);
void catalog_coupons_post(struct call *c);
void catalog_coupon_get(struct call *c);
void catalog_coupon_delete(struct call *c);
void catalog_coupon_put(struct call *c);
void write_off_rules_get(struct call *c);
void write_off_rules_put(struct call *c);
void contact_info_get(struct call *c);
void contact_info_put(struct call *c);
void contact_join_qr(struct call *c);
void contact_logo_upload(struct call *c);
void contact_logo_delete(struct call *c);
void catalog_image_upload(struct call *c);
void catalog_image_delete(struct call *c);
void sale_points_get(struct call *c);
void sale_points_put(struct call *c);

/* staff.c: employees and API keys (owner only) */
void employees_get(struct call *c);
void employees_create(struct call *c);
void employee_update(struct call *c);
void employee_delete(struct call *c);
void api_keys_get(struct call *c);
void api_keys_create(struct call *c);
void api_keys_delete(struct call *c);

/* webhooks.c: webhook endpoints, their delivery log, redelivery (owner only) */
void webhooks_get(struct call *c);
void webhooks_create(struct call *c);
void webhook_update(struct call *c);
void webhook_delete(struct call *c);
void webhook_deliveries_get(struct call *c);
void webhook_redeliver(struct call *c);

/* session.c: the merchant cabinet's sign-in, session and sign-out */
void session_create(struct call *c);
void session_show(struct call *c);
void session_end(struct call *c);
/* reports.c: the merchant cabinet's dashboard (managers and the owner) */
void reports_dashboard(struct call *c);

/* upload.c: the public route serving uploaded images */
void media_get(struct call *c);

/* ops.c: what operators and integrators use around the API */
void ops_healthz(struct call *c);
void ops_metrics(struct call *c);
void ops_openapi(struct call *c);
void ops_docs(struct call *c);
void ops_postman(struct call *c);
void ops_lk(struct call *c);

#endif
