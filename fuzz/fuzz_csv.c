/* libFuzzer target: a customer import's file (issue 14), as POST /imports/clients/ reads it:
 * the bytes turned into UTF-8 text (domain/csv: BOM, Windows-1251, binary refused), then the
 * header and every row read and checked (service/imports: import_file_parse over the CSV
 * reader). Whatever the file, the text must be valid UTF-8, every problem's message valid
 * UTF-8 (it goes into a JSON answer) naming a line of the file, and the counts consistent.
 *
 * Input: the file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/text.h"
#include "service/imports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	enum csv_encoding encoding;
	char err[512];
	if (!csv_text_utf8((const char *)data, size, &text, &len, &encoding, err, sizeof(err))) {
		if (text || !err[0] || !text_utf8_valid(err, strlen(err)))
			abort();
		return 0;
	}
	if (!text_utf8_valid(text, len))
		abort();
	struct import_file f = {0};
	/* a fixed "now" (2026-01-01), so an input means the same thing on every run */
	if (import_file_parse(text, len, MONEY_DIGITS, 1767225600000LL, &f, err, sizeof(err))) {
		if (f.n_rows == 0 || f.n_valid > f.n_rows)
			abort();
		int64_t lines = 1;
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n' ||
				 (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
		for (size_t i = 0; i < f.n_problems; i++) {
			const struct import_problem *p = &f.problems[i];
			if (p->line < 2 || p->line > lines || !p->field ||
			    !text_utf8_valid(p->message, strlen(p->message)))
				abort();
		}
		size_t valid = 0;
		for (size_t i = 0; i < f.n_rows; i++) {
			const struct import_row *r = &f.rows[i];
			valid += r->valid;
			if (r->valid && !r->phone[0] && !r->email)
				abort();
			if (r->valid && r->points_minor < 0)
				abort();
			if (r->name && !text_utf8_valid(r->name, strlen(r->name)))
				abort();
		}
		if (valid != f.n_valid)
			abort();
	} else if (!err[0] || !text_utf8_valid(err, strlen(err))) {
		abort();
	}
	import_file_clear(&f);
	free(text);
	return 0;
}
