/* Orders after the fact (see orders.h). */
#include "service/orders.h"

enum store_rc order_react(struct store_conn *db, const struct order *o, int reaction,
			  const char *comment)
{
	enum store_rc rc = STORE(db, order_set_reaction, o->id, reaction, comment);
	if (rc == STORE_OK && o->client_id && o->reaction != reaction) {
		int64_t d[4] = {0, 0, 0, 0};
		d[o->reaction] -= 1;
		d[reaction] += 1;
		rc = STORE(db, client_reviews_add, o->client_id, d[1], d[2], d[3]);
	}
	return rc;
}
