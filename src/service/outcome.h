/* What a workflow of service/ decided: done; refused by a rule of the program (the request's
 * fault: a stable code and a message that names the field and the rule); or stopped by
 * storage. No HTTP here: the API layer maps an outcome to a response in one place
 * (call_outcome in api/call.h). */
#ifndef KOPILKA_SERVICE_OUTCOME_H
#define KOPILKA_SERVICE_OUTCOME_H

#include <stdbool.h>

#include "store/store.h"

enum outcome_kind {
	OUTCOME_OK = 0,
	OUTCOME_STORE,	   /* storage failed (rc): not the caller's fault */
	OUTCOME_INVALID,   /* the request breaks a rule (400) */
	OUTCOME_NOT_FOUND, /* what it names is not there (404) */
	OUTCOME_CONFLICT,  /* the state does not allow it (409) */
};

struct outcome {
	enum outcome_kind kind;
	enum store_rc rc;  /* OUTCOME_STORE: what storage answered */
	const char *code;  /* a refusal's stable code ("insufficient_funds") */
	char message[512]; /* a refusal's "field: rule" */
	/* A refusal whose writes still commit: what the workflow found due whatever the answer
	 * (an expired hold's release) stands. */
	bool keep_writes;
};

/* Takes a storage result: true for STORE_OK; otherwise records OUTCOME_STORE and returns
 * false. A workflow goes on while it gets true. */
bool outcome_store(struct outcome *o, enum store_rc rc);

/* Records a refusal of this kind and returns false. */
bool outcome_refuse(struct outcome *o, enum outcome_kind kind, const char *code, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

#endif
