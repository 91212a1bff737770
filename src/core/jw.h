/* A streaming JSON writer for responses: appends to a struct buf with correct string escaping
 * and exact money printing, without building a jansson tree (which cost half the CPU of a hot
 * read in a measured prototype). Callers keep the structure balanced; commas are automatic. */
#ifndef KOPILKA_CORE_JW_H
#define KOPILKA_CORE_JW_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

#define JW_MAX_DEPTH 32

struct jw {
	struct buf *out;
	int depth;
	bool need_comma[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, struct buf *out);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
/* Writes an object key; the next value call writes its value. */
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s); /* NULL writes null */
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* A scaled decimal (money in minor units with digits=2, quantities with 3). */
void jw_fixed(struct jw *w, int64_t scaled, int digits);
/* Pre-rendered JSON text inserted as one value. */
void jw_raw(struct jw *w, const char *json);

/* Key-value shorthands. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_knull(struct jw *w, const char *key);
void jw_kmoney(struct jw *w, const char *key, int64_t minor);

/* Appends s as a JSON string literal (quotes included) to b. Always valid JSON and UTF-8:
 * control characters are escaped, and a byte that does not begin a valid UTF-8 sequence is
 * written as \ufffd (U+FFFD). */
void jw_escape(struct buf *b, const char *s);

#endif
