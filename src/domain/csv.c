/* CSV files people upload (see csv.h). */
#include "domain/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/text.h"

const char *csv_encoding_name(enum csv_encoding e)
{
	static const char *const names[] = {"utf-8", "utf-8 with BOM", "windows-1251"};
	return names[e];
}

/* Windows-1251's bytes 0x80..0xFF as code points; 0: undefined (0x98). */
static const uint16_t cp1251_high[128] = {
    0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039,
    0x040A, 0x040C, 0x040B, 0x040F, 0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0,	    0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F, 0x00A0, 0x040E, 0x045E, 0x0408,
    0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
    0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB,
    0x0458, 0x0405, 0x0455, 0x0457, 0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F, 0x0420, 0x0421, 0x0422, 0x0423,
    0x0424, 0x0425, 0x0426, 0x0427, 0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B,
    0x043C, 0x043D, 0x043E, 0x043F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
};

/* A control character no text file holds (tab, CR and LF are text). */
static bool is_binary_byte(unsigned char b)
{
	return (b < 0x20 && b != '\t' && b != '\r' && b != '\n') || b == 0x7f;
}

/* The 1-based line of byte offset pos. */
static size_t line_of(const char *in, size_t pos)
{
	size_t line = 1;
	for (size_t i = 0; i < pos; i++)
		line += in[i] == '\n';
	return line;
}

/* Writes cp as UTF-8 at out; returns the bytes written (1 to 3: cp < 0x10000). */
static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (cp >> 12));
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

static bool out_of_memory(char *err, size_t err_cap)
{
	snprintf(err, err_cap, "out of memory reading the file");
	return false;
}

bool csv_text_utf8(const char *in, size_t len, char **out, size_t *out_len,
		   enum csv_encoding *encoding, char *err, size_t err_cap)
{
	const unsigned char *u = (const unsigned char *)in;
	*out = NULL;
	*out_len = 0;
	if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
		snprintf(err, err_cap,
			 "the file is UTF-16 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" "
			 "or \"CSV (comma delimited)\"");
		return false;
	}
	bool bom = len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF;
	size_t start = bom ? 3 : 0;
	if (len == start) {
		snprintf(err, err_cap, "the file is empty");
		return false;
	}
	for (size_t i = start; i < len; i++) {
		if (is_binary_byte(u[i])) {
			snprintf(
			    err, err_cap,
			    "the file is not a CSV text file: a control byte 0x%02X at line %zu "
			    "(offset %zu); upload the table saved as CSV",
			    u[i], line_of(in, i), i);
			return false;
		}
	}
	if (text_utf8_valid(in + start, len - start)) {
		char *copy = malloc(len - start + 1);
		if (!copy)
			return out_of_memory(err, err_cap);
		memcpy(copy, in + start, len - start);
		copy[len - start] = '\0';
		*out = copy;
		*out_len = len - start;
		*encoding = bom ? CSV_UTF8_BOM : CSV_UTF8;
		return true;
	}
	if (bom) {
		snprintf(err, err_cap,
			 "the file begins with a UTF-8 mark but is not valid UTF-8; save it again "
			 "as \"CSV UTF-8\"");
		return false;
	}
	/* Every byte becomes at most 3 (Windows-1251's letters are 2, its punctuation 3). */
	char *text = malloc(len * 3 + 1);
	if (!text)
		return out_of_memory(err, err_cap);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned cp = u[i] < 0x80 ? u[i] : cp1251_high[u[i] - 0x80];
		if (cp == 0) {
			free(text);
			snprintf(err, err_cap,
				 "the file is neither UTF-8 nor Windows-1251 text (byte 0x%02X at "
				 "line %zu); save the table as \"CSV UTF-8\"",
				 u[i], line_of(in, i));
			return false;
		}
		n += put_utf8(text + n, cp);
	}
	text[n] = '\0';
	*out = text;
	*out_len = n;
	*encoding = CSV_CP1251;
	return true;
}

char csv_detect_separator(const char *text, size_t len)
{
	size_t semi = 0, comma = 0, tab = 0;
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		char ch = text[i];
		if (ch == '"')
			quoted = !quoted;
		else if (!quoted && (ch == '\n' || ch == '\r'))
			break;
		else if (!quoted && ch == ';')
			semi++;
		else if (!quoted && ch == ',')
			comma++;
		else if (!quoted && ch == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

void csv_reader_init(struct csv_reader *r, const char *text, size_t len, char sep)
{
	memset(r, 0, sizeof(*r));
	r->text = text;
	r->len = len;
	r->sep = sep;
	r->line = 1;
}

void csv_reader_free(struct csv_reader *r)
{
	free(r->data);
	free(r->offsets);
	free(r->fields);
	memset(r, 0, sizeof(*r));
}

/* Appends a byte to the current record; false when memory ran out. */
static bool data_putc(struct csv_reader *r, char ch)
{
	if (r->data_len + 1 >= r->data_cap) {
		size_t cap = r->data_cap ? r->data_cap * 2 : 256;
		char *grown = realloc(r->data, cap);
		if (!grown)
			return false;
		r->data = grown;
		r->data_cap = cap;
	}
	r->data[r->data_len++] = ch;
	return true;
}

/* Ends the current field (NUL) and starts the next one; false when memory ran out. */
static bool field_end(struct csv_reader *r, size_t field_start)
{
	if (!data_putc(r, '\0'))
		return false;
	if (r->n_fields == r->fields_cap) {
		size_t cap = r->fields_cap ? r->fields_cap * 2 : 16;
		size_t *offsets = realloc(r->offsets, cap * sizeof(*offsets));
		if (!offsets)
			return false;
		r->offsets = offsets;
		char **fields = realloc(r->fields, cap * sizeof(*fields));
		if (!fields)
			return false;
		r->fields = fields;
		r->fields_cap = cap;
	}
	r->offsets[r->n_fields++] = field_start;
	return true;
}

int csv_next(struct csv_reader *r, int64_t *line, char *err, size_t err_cap)
{
	if (r->pos >= r->len)
		return 0;
	*line = r->line;
	r->data_len = 0;
	r->n_fields = 0;
	size_t field_start = 0;
	bool quoted = false, at_field_start = true;
	while (r->pos < r->len) {
		char ch = r->text[r->pos++];
		if (quoted) {
			if (ch == '"') {
				if (r->pos < r->len && r->text[r->pos] == '"') {
					if (!data_putc(r, '"'))
						goto oom;
					r->pos++;
				} else {
					quoted = false;
				}
			} else {
				r->line += ch == '\n';
				if (!data_putc(r, ch))
					goto oom;
			}
			continue;
		}
		if (ch == '"' && at_field_start) {
			quoted = true;
			at_field_start = false;
			continue;
		}
		if (ch == r->sep) {
			if (!field_end(r, field_start))
				goto oom;
			field_start = r->data_len;
			at_field_start = true;
			continue;
		}
		if (ch == '\r' || ch == '\n') {
			if (ch == '\r' && r->pos < r->len && r->text[r->pos] == '\n')
				r->pos++;
			r->line++;
			goto done;
		}
		at_field_start = false;
		if (!data_putc(r, ch))
			goto oom;
	}
	if (quoted) {
		snprintf(err, err_cap,
			 "line %lld: a quoted field is never closed (a \" without its pair)",
			 (long long)*line);
		return -1;
	}
done:
	if (!field_end(r, field_start))
		goto oom;
	for (size_t i = 0; i < r->n_fields; i++)
		r->fields[i] = r->data + r->offsets[i];
	return 1;
oom:
	out_of_memory(err, err_cap);
	return -1;
}
