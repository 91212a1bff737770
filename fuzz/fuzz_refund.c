/* libFuzzer target: the seed-form refund matcher of domain/refund against its contract: a match
 * names an existing line that fits the item (the same product id when both have one, else the
 * same name), never takes more than a line had left, and leaves each line exactly what it had
 * less what its items took; a failure names an existing item and, for AMBIGUOUS, two lines that
 * differ, for QUANTITY a line with less left than the item asks. refund_name_equal is
 * reflexive and symmetric.
 *
 * Input: byte 0 the number of lines (mod 9), byte 1 the number of items (mod 9), then 4 bytes
 * per line and per item: product id (0: none, else one of 3 ids), name (one of 8 spellings, or
 * the raw tail of the input), price, quantity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/refund.h"

#define MAX 8

static const char *const ids[] = {NULL, "SKU-1", "SKU-2", "42"};
static const char *const names[] = {"Капучино", " капучино ", "КАПУЧИНО", "Latte",
				    "latte\t",	"Café",	      "CAFÉ",	  ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4096)
		return 0;
	size_t n_lines = data[0] % (MAX + 1), n_items = data[1] % (MAX + 1);
	size_t need = 2 + 4 * (n_lines + n_items);
	if (size < need)
		return 0;
	char *raw = xstrndup((const char *)data + need, size - need); /* a NUL ends it */
	const uint8_t *p = data + 2;
	struct refund_line lines[MAX], before[MAX];
	struct refund_item items[MAX];
	for (size_t i = 0; i < n_lines; i++, p += 4) {
		lines[i].product_id = ids[p[0] % 4];
		lines[i].name = p[1] % 9 == 8 ? raw : names[p[1] % 9];
		lines[i].price_minor = p[2] % 4 * 100;
		lines[i].remaining_milli = (int64_t)(p[3] % 5) * 500;
	}
	for (size_t i = 0; i < n_items; i++, p += 4) {
		items[i].product_id = ids[p[0] % 4];
		items[i].name = p[1] % 9 == 8 ? raw : names[p[1] % 9];
		items[i].price_minor = p[2] % 4 * 100;
		items[i].qty_milli = (int64_t)(p[3] % 4 + 1) * 500;
	}
	memcpy(before, lines, sizeof(lines[0]) * n_lines);

	if (!refund_name_equal(raw, raw))
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (refund_name_equal(raw, names[i]) != refund_name_equal(names[i], raw))
			abort();

	size_t line_of[MAX];
	struct refund_match_error err;
	enum refund_match_rc rc = refund_match(lines, n_lines, items, n_items, line_of, &err);
	if (rc == REFUND_MATCH_OK) {
		int64_t taken[MAX] = {0};
		for (size_t i = 0; i < n_items; i++) {
			size_t l = line_of[i];
			if (l >= n_lines)
				abort();
			const char *lid = lines[l].product_id, *iid = items[i].product_id;
			if (lid && iid ? strcmp(lid, iid) != 0
				       : !refund_name_equal(lines[l].name, items[i].name))
				abort();
			taken[l] += items[i].qty_milli;
		}
		for (size_t l = 0; l < n_lines; l++)
			if (taken[l] > before[l].remaining_milli ||
			    lines[l].remaining_milli != before[l].remaining_milli - taken[l])
				abort();
	} else {
		if (err.item >= n_items)
			abort();
		if (rc == REFUND_MATCH_AMBIGUOUS) {
			const struct refund_line *a = &lines[err.line], *b = &lines[err.other_line];
			if (err.line >= n_lines || err.other_line >= n_lines ||
			    err.line == err.other_line)
				abort();
			bool same_id = (!a->product_id && !b->product_id) ||
				       (a->product_id && b->product_id &&
					strcmp(a->product_id, b->product_id) == 0);
			if (same_id && a->price_minor == b->price_minor &&
			    refund_name_equal(a->name, b->name))
				abort(); /* interchangeable lines are never "ambiguous" */
		} else if (rc == REFUND_MATCH_QUANTITY) {
			if (err.line >= n_lines ||
			    err.remaining_milli >= items[err.item].qty_milli ||
			    err.remaining_milli != lines[err.line].remaining_milli)
				abort();
		} else if (rc != REFUND_MATCH_NONE) {
			abort();
		}
		for (size_t l = 0; l < n_lines; l++)
			if (lines[l].remaining_milli < 0 ||
			    lines[l].remaining_milli > before[l].remaining_milli)
				abort();
	}
	free(raw);
	return 0;
}
