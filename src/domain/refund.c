/* Matching the items of a seed-form refund to the lines of its sale (see refund.h). */
#include "domain/refund.h"

#include <string.h>

/* Code points above this stand for a byte that is not valid UTF-8. */
#define BAD_BYTE_BASE 0x110000u

/* Decodes one code point at s (s < end); a malformed or truncated sequence yields its first
 * byte as BAD_BYTE_BASE + byte, one byte long. Returns the length consumed. */
static size_t decode(const unsigned char *s, const unsigned char *end, uint32_t *cp)
{
	unsigned char b = s[0];
	size_t len;
	uint32_t v, min;
	if (b < 0x80) {
		*cp = b;
		return 1;
	} else if (b >= 0xC2 && b <= 0xDF) {
		len = 2, v = b & 0x1F, min = 0x80;
	} else if (b >= 0xE0 && b <= 0xEF) {
		len = 3, v = b & 0x0F, min = 0x800;
	} else if (b >= 0xF0 && b <= 0xF4) {
		len = 4, v = b & 0x07, min = 0x10000;
	} else {
		*cp = BAD_BYTE_BASE + b;
		return 1;
	}
	if ((size_t)(end - s) < len) {
		*cp = BAD_BYTE_BASE + b;
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*cp = BAD_BYTE_BASE + b;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
		*cp = BAD_BYTE_BASE + b;
		return 1;
	}
	*cp = v;
	return len;
}

static bool is_space(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0;
}

/* Simple lower-case folding of the scripts a till prints names in. */
static uint32_t fold(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) /* Latin-1 capitals, not × */
		return cp + 32;
	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) /* Greek Α..Ω */
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42F) /* Cyrillic А..Я */
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40F) /* Cyrillic Ѐ..Џ (Ё among them) */
		return cp + 80;
	return cp;
}

/* The bounds of s without its leading and trailing white space. */
static void trim(const char *s, const unsigned char **begin, const unsigned char **end)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + strlen(s);
	const unsigned char *first = e, *last = p;
	while (p < e) {
		uint32_t cp;
		size_t n = decode(p, e, &cp);
		if (!is_space(cp)) {
			if (first == e)
				first = p;
			last = p + n;
		}
		p += n;
	}
	*begin = first;
	*end = first == e ? first : last;
}

bool refund_name_equal(const char *a, const char *b)
{
	const unsigned char *pa, *ea, *pb, *eb;
	trim(a ? a : "", &pa, &ea);
	trim(b ? b : "", &pb, &eb);
	while (pa < ea && pb < eb) {
		uint32_t ca, cb;
		pa += decode(pa, ea, &ca);
		pb += decode(pb, eb, &cb);
		if (fold(ca) != fold(cb))
			return false;
	}
	return pa == ea && pb == eb;
}

static bool has_id(const char *id)
{
	return id && *id;
}

static bool same_id(const char *a, const char *b)
{
	return has_id(a) ? has_id(b) && strcmp(a, b) == 0 : !has_id(b);
}

/* Lines equal in product id, name and price: refunding from one or the other is the same. */
static bool interchangeable(const struct refund_line *x, const struct refund_line *y)
{
	return x->price_minor == y->price_minor && same_id(x->product_id, y->product_id) &&
	       refund_name_equal(x->name, y->name);
}

/* Does line fit item under rule `by`? A line with another product id never does. */
static bool fits(const struct refund_line *line, const struct refund_item *item,
		 enum refund_match_by by)
{
	if (has_id(item->product_id) && has_id(line->product_id))
		return by == REFUND_BY_ID && strcmp(item->product_id, line->product_id) == 0;
	switch (by) {
	case REFUND_BY_ID:
		return false;
	case REFUND_BY_NAME_PRICE:
		return line->price_minor == item->price_minor &&
		       refund_name_equal(line->name, item->name);
	case REFUND_BY_NAME:
		return refund_name_equal(line->name, item->name);
	}
	return false;
}

/* Narrowing inside the candidates of rule 1: the lines with the item's price, then those with
 * its name too. */
static bool narrows(const struct refund_line *line, const struct refund_item *item, int step)
{
	if (step == 0)
		return line->price_minor == item->price_minor;
	return refund_name_equal(line->name, item->name);
}

/* Picks a line for one item. cand: scratch flags, one per line. */
static enum refund_match_rc match_one(struct refund_line *lines, size_t n_lines,
				      const struct refund_item *item, size_t *line_out,
				      struct refund_match_error *err)
{
	static const enum refund_match_by rules[] = {REFUND_BY_ID, REFUND_BY_NAME_PRICE,
						     REFUND_BY_NAME};
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		enum refund_match_by by = rules[r];
		err->by = by;
		/* The first candidate, and whether another candidate differs from it. */
		size_t first = n_lines, other = n_lines;
		for (size_t l = 0; l < n_lines; l++) {
			if (!fits(&lines[l], item, by))
				continue;
			if (first == n_lines)
				first = l;
			else if (other == n_lines && !interchangeable(&lines[first], &lines[l]))
				other = l;
		}
		if (first == n_lines)
			continue; /* no candidate: the next rule */
		/* Rule 1 narrows differing candidates by price, then by name. */
		bool narrowed[2] = {false, false};
		for (int step = 0; by == REFUND_BY_ID && other < n_lines && step < 2; step++) {
			size_t f = n_lines, o = n_lines;
			for (size_t l = 0; l < n_lines; l++) {
				if (!fits(&lines[l], item, by))
					continue;
				bool keep = narrows(&lines[l], item, step);
				for (int s = 0; s < step && keep; s++)
					keep = !narrowed[s] || narrows(&lines[l], item, s);
				if (!keep)
					continue;
				if (f == n_lines)
					f = l;
				else if (o == n_lines && !interchangeable(&lines[f], &lines[l]))
					o = l;
			}
			if (f < n_lines) { /* the narrowing leaves someone: keep it */
				narrowed[step] = true;
				first = f;
				other = o;
			}
		}
		if (other < n_lines) {
			err->line = first;
			err->other_line = other;
			return REFUND_MATCH_AMBIGUOUS;
		}
		/* Every candidate left is interchangeable with `first`: take the first that has
		 * enough left, else report the one with the most left. */
		size_t most = first;
		for (size_t l = first; l < n_lines; l++) {
			if (!fits(&lines[l], item, by) ||
			    !interchangeable(&lines[first], &lines[l]))
				continue;
			if (lines[l].remaining_milli >= item->qty_milli) {
				lines[l].remaining_milli -= item->qty_milli;
				*line_out = l;
				return REFUND_MATCH_OK;
			}
			if (lines[l].remaining_milli > lines[most].remaining_milli)
				most = l;
		}
		err->line = most;
		err->remaining_milli = lines[most].remaining_milli;
		return REFUND_MATCH_QUANTITY;
	}
	return REFUND_MATCH_NONE;
}

enum refund_match_rc refund_match(struct refund_line *lines, size_t n_lines,
				  const struct refund_item *items, size_t n_items,
				  size_t *line_of_item, struct refund_match_error *err)
{
	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < n_items; i++) {
		err->item = i;
		enum refund_match_rc rc =
		    match_one(lines, n_lines, &items[i], &line_of_item[i], err);
		if (rc != REFUND_MATCH_OK)
			return rc;
	}
	return REFUND_MATCH_OK;
}
