/* CSV files people upload (issue 14: a merchant's customers from another system): the file
 * turned into UTF-8 text (UTF-8 with or without a BOM, else Windows-1251, as Excel in Russia
 * saves), the separator guessed from the header line (',' ';' or tab), and RFC 4180 records
 * read one at a time (quoted fields with separators, doubled quotes and line breaks). Pure: no
 * I/O; what it allocates (with malloc, an allocation failure answered as an error, never an
 * abort) the caller frees through the functions below. */
#ifndef KOPILKA_DOMAIN_CSV_H
#define KOPILKA_DOMAIN_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which encoding the file was read as. */
enum csv_encoding { CSV_UTF8 = 0, CSV_UTF8_BOM = 1, CSV_CP1251 = 2 };
const char *csv_encoding_name(enum csv_encoding e);

/* The file as NUL-terminated UTF-8 without a BOM into *out (the caller frees it with free();
 * *out_len its length): kept when it is valid UTF-8, else converted from Windows-1251. Refused
 * (false, *out NULL, a sentence for a person in err) when it is empty, UTF-16, or not text: a
 * control character other than tab, CR and LF, or a byte Windows-1251 leaves undefined. */
bool csv_text_utf8(const char *in, size_t len, char **out, size_t *out_len,
		   enum csv_encoding *encoding, char *err, size_t err_cap);

/* The separator of the first line (outside quotes): the most frequent of ';', ',' and tab;
 * ',' when none occurs (a one-column file). */
char csv_detect_separator(const char *text, size_t len);

/* A reader over text (not copied: it must outlive the reader). */
struct csv_reader {
	const char *text;
	size_t len, pos;
	char sep;
	int64_t line; /* the line the next record starts on (1-based) */
	char *data;   /* the current record's fields, each NUL-terminated */
	size_t data_len, data_cap;
	size_t *offsets;
	char **fields; /* pointers into data, valid until the next csv_next */
	size_t n_fields, fields_cap;
};
void csv_reader_init(struct csv_reader *r, const char *text, size_t len, char sep);
void csv_reader_free(struct csv_reader *r);

/* Reads the next record into r->fields (r->n_fields of them) and its first line into *line.
 * 1: a record; 0: the end of the text; -1: a quoted field never closed (err says where), or
 * memory ran out. A
 * blank line is a record of one empty field. Text after a closing quote is kept as it is
 * (what spreadsheets do), so only an unclosed quote refuses a file. */
int csv_next(struct csv_reader *r, int64_t *line, char *err, size_t err_cap);

#endif
