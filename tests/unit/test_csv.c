/* Unit tests of domain/csv: files as spreadsheets save them (UTF-8 with and without a BOM,
 * Windows-1251, UTF-16), binary garbage refused with its line, the separator guessed from the
 * header, and RFC 4180 records (quoted separators, doubled quotes, line breaks inside quotes,
 * CRLF, an unclosed quote); a deterministic mutation run checks that no input breaks the
 * reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/csv.h"

/* csv_text_utf8 of a literal; the text (caller frees) or NULL with err filled. */
static char *to_utf8(const char *in, size_t len, enum csv_encoding *enc, char *err)
{
	char *out = NULL;
	size_t out_len = 0;
	if (!csv_text_utf8(in, len, &out, &out_len, enc, err, 256)) {
		assert_null(out);
		return NULL;
	}
	assert_int_equal(strlen(out), out_len);
	return out;
}

static void test_encodings(void **state)
{
	(void)state;
	enum csv_encoding enc;
	char err[256];
	char *t = to_utf8("phone\n1\n", 8, &enc, err);
	assert_string_equal(t, "phone\n1\n");
	assert_int_equal(enc, CSV_UTF8);
	free(t);
	t = to_utf8("\xEF\xBB\xBFимя\n", 10, &enc, err);
	assert_string_equal(t, "имя\n");
	assert_int_equal(enc, CSV_UTF8_BOM);
	free(t);
	/* "Ёжик;№" in Windows-1251 */
	t = to_utf8("\xA8\xE6\xE8\xEA;\xB9", 6, &enc, err);
	assert_string_equal(t, "Ёжик;№");
	assert_int_equal(enc, CSV_CP1251);
	free(t);
	assert_null(to_utf8("\xFF\xFEp\0h\0", 6, &enc, err));
	assert_non_null(strstr(err, "UTF-16"));
	assert_null(to_utf8("a\nb\x01", 4, &enc, err));
	assert_non_null(strstr(err, "0x01 at line 2"));
	assert_null(to_utf8("a\0b", 3, &enc, err));
	assert_non_null(strstr(err, "not a CSV text file"));
	assert_null(to_utf8("x\x98y", 3, &enc, err)); /* undefined in Windows-1251 */
	assert_non_null(strstr(err, "neither UTF-8 nor Windows-1251"));
	assert_null(to_utf8("\xEF\xBB\xBF\xFF", 4, &enc, err));
	assert_non_null(strstr(err, "not valid UTF-8"));
	assert_null(to_utf8("", 0, &enc, err));
	assert_non_null(strstr(err, "empty"));
	assert_null(to_utf8("\xEF\xBB\xBF", 3, &enc, err));
}

static void test_separator(void **state)
{
	(void)state;
	assert_int_equal(csv_detect_separator("a;b;c\n1,2", 9), ';');
	assert_int_equal(csv_detect_separator("a,b;c,d\n", 8), ',');
	assert_int_equal(csv_detect_separator("a\tb\tc", 5), '\t');
	assert_int_equal(csv_detect_separator("phone", 5), ',');
	/* separators inside quotes do not count */
	assert_int_equal(csv_detect_separator("\"a;b;c\",d,e\n", 12), ',');
	/* only the first line */
	assert_int_equal(csv_detect_separator("a,b\r\n;;;;", 9), ',');
}

/* Reads every record of text into one string: fields joined by '|', records by '/'. */
static int read_all(const char *text, char sep, char *out, size_t cap, int64_t *lines)
{
	struct csv_reader r;
	char err[256];
	int64_t line = 0;
	int rc, n = 0;
	csv_reader_init(&r, text, strlen(text), sep);
	out[0] = '\0';
	while ((rc = csv_next(&r, &line, err, sizeof(err))) == 1) {
		if (lines)
			lines[n] = line;
		if (n++)
			strncat(out, "/", cap - strlen(out) - 1);
		for (size_t i = 0; i < r.n_fields; i++) {
			if (i)
				strncat(out, "|", cap - strlen(out) - 1);
			strncat(out, r.fields[i], cap - strlen(out) - 1);
		}
	}
	if (rc < 0)
		snprintf(out, cap, "ERROR %s", err);
	csv_reader_free(&r);
	return n;
}

static void test_records(void **state)
{
	(void)state;
	char out[512];
	int64_t lines[16];
	assert_int_equal(read_all("a;b\n1;2\n", ';', out, sizeof(out), NULL), 2);
	assert_string_equal(out, "a|b/1|2");
	/* CRLF, no final line end, empty fields */
	read_all("a,b,c\r\n,,\r\nx", ',', out, sizeof(out), NULL);
	assert_string_equal(out, "a|b|c/||/x");
	/* quotes: separators, doubled quotes and line breaks inside; lines counted */
	assert_int_equal(read_all("n;m\n\"Иван\nИванов; мл.\";\"say \"\"hi\"\"\"\nz;w\n", ';', out,
				  sizeof(out), lines),
			 3);
	assert_string_equal(out, "n|m/Иван\nИванов; мл.|say \"hi\"/z|w");
	assert_int_equal(lines[0], 1);
	assert_int_equal(lines[1], 2);
	assert_int_equal(lines[2], 4);
	/* a quote not at the start of a field is kept; text after a closing quote too */
	read_all("ab\"c,\"d\"e\n", ',', out, sizeof(out), NULL);
	assert_string_equal(out, "ab\"c|de");
	/* a blank line is a record of one empty field */
	read_all("a\n\nb\n", ',', out, sizeof(out), NULL);
	assert_string_equal(out, "a//b");
	/* an unclosed quote refuses, naming the line it began on */
	read_all("a\nb\n\"open\nmore\n", ',', out, sizeof(out), NULL);
	assert_string_equal(out, "ERROR line 3: a quoted field is never closed (a \" without its "
				 "pair)");
	/* many fields in one record */
	char wide[4096] = "";
	for (int i = 0; i < 500; i++)
		strcat(wide, i ? ",x" : "x");
	struct csv_reader r;
	char err[64];
	int64_t line;
	csv_reader_init(&r, wide, strlen(wide), ',');
	assert_int_equal(csv_next(&r, &line, err, sizeof(err)), 1);
	assert_int_equal(r.n_fields, 500);
	assert_string_equal(r.fields[499], "x");
	assert_int_equal(csv_next(&r, &line, err, sizeof(err)), 0);
	csv_reader_free(&r);
}

/* Mutations of a small file (deterministic): every result is refused or read to its end, and
 * every field stays inside the text's bytes (no field longer than the text). */
static void test_mutations(void **state)
{
	(void)state;
	const char seed[] = "phone;name\r\n\"79120000001\";\"A \"\"B\"\"\nC\"\r\n8912;x\n";
	char buf[sizeof(seed)];
	uint32_t x = 12345;
	for (int round = 0; round < 20000; round++) {
		memcpy(buf, seed, sizeof(seed));
		size_t len = sizeof(seed) - 1;
		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			size_t at = (x >> 8) % len;
			static const char alphabet[] = "\";\r\n,\ta\xD0\x98\xFF";
			buf[at] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
		}
		x = x * 1103515245u + 12345u;
		len -= (x >> 16) % 4;
		char *text = NULL;
		size_t text_len = 0;
		enum csv_encoding enc;
		char err[256];
		if (!csv_text_utf8(buf, len, &text, &text_len, &enc, err, sizeof(err)))
			continue;
		struct csv_reader r;
		int64_t line;
		int rc;
		csv_reader_init(&r, text, text_len, csv_detect_separator(text, text_len));
		while ((rc = csv_next(&r, &line, err, sizeof(err))) == 1)
			for (size_t i = 0; i < r.n_fields; i++)
				assert_true(strlen(r.fields[i]) <= text_len);
		assert_true(rc == 0 || rc == -1);
		csv_reader_free(&r);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encodings),
	    cmocka_unit_test(test_separator),
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
