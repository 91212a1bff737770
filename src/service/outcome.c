/* Outcomes of the workflows (service/outcome.h). */
#include "service/outcome.h"

#include <stdarg.h>
#include <stdio.h>

bool outcome_store(struct outcome *o, enum store_rc rc)
{
	if (rc == STORE_OK)
		return true;
	o->kind = OUTCOME_STORE;
	o->rc = rc;
	return false;
}

bool outcome_refuse(struct outcome *o, enum outcome_kind kind, const char *code, const char *fmt,
		    ...)
{
	o->kind = kind;
	o->rc = STORE_OK;
	o->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->message, sizeof(o->message), fmt, ap);
	va_end(ap);
	return false;
}
