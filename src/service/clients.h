/* Finding the customer a write concerns, registering them when the program allows it. No
 * HTTP here. */
#ifndef KOPILKA_SERVICE_CLIENTS_H
#define KOPILKA_SERVICE_CLIENTS_H

#include "service/outcome.h"
#include "store/store.h"

/* The merchant's client with this phone, else this email (either may be NULL), locked and read
 * as it is now into *cl (store.h, client_lock): what the write decides from stays as read
 * until commit. Unknown: registered when auto_register (with name; by phone alone when the
 * email clashes), else refused as 404 unknown_customer naming field. A client registered
 * meanwhile by a concurrent write is STORE_RETRY: the caller's transaction runs again. */
bool client_find_or_register(struct store_conn *db, int64_t merchant_id, const char *phone,
			     const char *email, const char *name, bool auto_register,
			     const char *field, struct client *cl, struct outcome *o) MUST_CHECK;

/* The join page's confirmed enrolment e (issue 15): the merchant's client with e's phone gets
 * the consent recorded (e's version, now), and e's birthday and name where it holds none
 * (client.updated in the outbox); an
 * unknown phone is registered as client_find_or_register does (client.created in the outbox),
 * with e's email unless another client holds it, the consent and birthday stored with it.
 * Whatever the program's autoRegisterClients: the person asked to join. *cl: the client as it
 * is now (owned: client_clear). A new client's first sale gets newCustomerSettings as any
 * other's. */
bool client_enrol(struct store_conn *db, const struct enrolment *e, int64_t now, struct client *cl,
		  struct outcome *o) MUST_CHECK;

/* A manager's correction of a client's balance (POST /clients/{id}/balance/adjust/): amount
 * added (> 0, a new lot that never expires) or taken (< 0, from the lots soonest-expiring
 * first; refused as 400 insufficient_funds naming "amount" beyond what the client can spend),
 * as an `adjust` ledger row carrying reason. 404 when the client is not the merchant's.
 * *available_out: what the client can spend afterwards, per currency. */
bool balance_adjust(struct store_conn *db, int64_t merchant_id, int64_t client_id,
		    enum currency cur, money_t amount_minor, const char *reason, int64_t now,
		    money_t available_out[CURRENCY_COUNT], struct outcome *o) MUST_CHECK;

/* Refuses (409 client_erased naming field) a new write for a client whose personal data was
 * erased: no sale, hold, write-off, coupon, adjustment or change takes it again. True when
 * cl is not erased. */
bool client_refuse_erased(const struct client *cl, const char *field, struct outcome *o) MUST_CHECK;

/* Erases the personal data of the merchant's client client_id (POST /clients/{id}/erase/, 152-FZ)
 * inside the caller's write transaction, all of it or nothing: the client's phone, email, name,
 * avatar and token (store.h, client_erase), its coupons' tokens and codes, its comments on
 * orders, the Idempotency-Key answers that show it, and the personal fields of every webhook
 * event that names it (view_scrub_personal), delivered or pending; then one client.updated
 * event with the erased client. Orders, items, lots, ledger rows and holds stay, so the
 * balance and `kopilkad check` hold as before. *out: the client as it is afterwards (the
 * caller clears it). A client erased before is left as it is, *already_out true (a repeat is
 * idempotent). 404 not_found naming "id" when the client is not the merchant's. */
bool client_erase_personal(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			   int64_t now, struct client *out, bool *already_out,
			   struct outcome *o) MUST_CHECK;

#endif
