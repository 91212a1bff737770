/* Which sale line a refund item means, when the refund is written the seed's way (API.md 3.3):
 * like sale items (name, price, quantity, the POS's product Id), without kopilka's item ids,
 * which a POS following the seed document never learns. Pure: no I/O, no allocation. */
#ifndef KOPILKA_DOMAIN_REFUND_H
#define KOPILKA_DOMAIN_REFUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/money.h"

/* One line of the sale being refunded. */
struct refund_line {
	const char *product_id; /* the POS's product id; NULL or "": none */
	const char *name;
	money_t price_minor;
	int64_t remaining_milli; /* quantity not refunded yet; refund_match takes from it */
};

/* One item of the refund receipt. */
struct refund_item {
	const char *product_id; /* NULL or "": not given */
	const char *name;
	money_t price_minor;
	int64_t qty_milli; /* > 0 */
};

enum refund_match_rc {
	REFUND_MATCH_OK = 0,
	REFUND_MATCH_NONE,	/* no line fits the item */
	REFUND_MATCH_AMBIGUOUS, /* lines that differ (id, name or price) fit it equally well */
	REFUND_MATCH_QUANTITY,	/* the line fits, but less than the item's quantity remains */
};

/* The rule that chose an item's candidate lines, in the order they are tried. */
enum refund_match_by {
	REFUND_BY_ID,	      /* the line's product id equals the item's Id */
	REFUND_BY_NAME_PRICE, /* same name (trimmed, case-insensitive) and price */
	REFUND_BY_NAME,	      /* same name, whatever the price */
};

/* Why an item could not be matched. */
struct refund_match_error {
	size_t item;		 /* index of the item at fault */
	enum refund_match_by by; /* the last rule tried (NONE) or the one that chose (others) */
	size_t line, other_line; /* AMBIGUOUS: two lines that differ; QUANTITY: the line */
	int64_t remaining_milli; /* QUANTITY: what remains of that line (after earlier items) */
};

/* Matches every item to one line (line_of_item[i], n_items entries), following API.md 3.3:
 *  1. when the item has an Id, the lines with that product id;
 *  2. else (or when no line has it) the lines with its name and price;
 *  3. else the lines with its name.
 * A line whose product id differs from the item's Id never fits it. Lines equal in product id,
 * name and price are interchangeable; candidates that differ are first narrowed (rule 1: to
 * those with the item's price, then its name) and, if they still differ, AMBIGUOUS. Among
 * interchangeable lines the first whose remaining quantity covers the item's is taken; none:
 * QUANTITY. Each match takes its quantity from lines[].remaining_milli, so two items of one
 * refund cannot take the same quantity twice. Returns OK, or the first failure with *err
 * filled (lines then hold what earlier items took; the caller discards them). */
enum refund_match_rc refund_match(struct refund_line *lines, size_t n_lines,
				  const struct refund_item *items, size_t n_items,
				  size_t *line_of_item, struct refund_match_error *err)
    __attribute__((warn_unused_result));

/* True when two names are equal once leading and trailing white space is removed and letters
 * are folded to lower case (ASCII, Latin-1, Greek and Cyrillic; other characters compare as
 * they are). Bytes that are not valid UTF-8 compare as themselves. */
bool refund_name_equal(const char *a, const char *b);

#endif
