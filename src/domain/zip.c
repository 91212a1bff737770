/* The stored-entries ZIP writer (see zip.h). Layout: APPNOTE.TXT 4.3 (local file header 4.3.7,
 * central directory header 4.3.12, end of central directory record 4.3.16), little endian. */
#include "domain/zip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG 0x06054b50u
#define ZIP_LOCAL_HEADER 30   /* bytes before the name */
#define ZIP_CENTRAL_HEADER 46 /* bytes before the name */
#define ZIP_END_RECORD 22
#define ZIP_VERSION 10	    /* 1.0: stored entries need nothing newer */
#define ZIP_DOS_DATE 0x0021 /* 1980-01-01: day 1, month 1, year 1980 + 0 */

uint32_t zip_crc32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static unsigned char *put16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
	return p + 2;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p = put16(p, v & 0xffff);
	return put16(p, v >> 16);
}

/* The fields the local and the central headers share, from "version needed" to "extra field
 * length". */
static unsigned char *put_common(unsigned char *p, const struct zip_entry *e, uint32_t crc)
{
	p = put16(p, ZIP_VERSION);
	p = put16(p, 0); /* flags: none */
	p = put16(p, 0); /* method: stored */
	p = put16(p, 0); /* time 00:00:00 */
	p = put16(p, ZIP_DOS_DATE);
	p = put32(p, crc);
	p = put32(p, (uint32_t)e->len); /* compressed size */
	p = put32(p, (uint32_t)e->len); /* uncompressed size */
	p = put16(p, (uint32_t)strlen(e->name));
	return put16(p, 0); /* extra field length */
}

unsigned char *zip_store(const struct zip_entry *entries, size_t n, size_t *len_out)
{
	if (n == 0 || n > ZIP_MAX_ENTRIES)
		return NULL;
	/* Sizes first, so one allocation holds the archive and nothing overflows. */
	uint64_t total = ZIP_END_RECORD;
	for (size_t i = 0; i < n; i++) {
		size_t name_len = entries[i].name ? strlen(entries[i].name) : 0;
		if (name_len == 0 || name_len > 0xffff || entries[i].len > ZIP_MAX_BYTES)
			return NULL;
		total +=
		    ZIP_LOCAL_HEADER + ZIP_CENTRAL_HEADER + 2 * (uint64_t)name_len + entries[i].len;
		if (total > ZIP_MAX_BYTES)
			return NULL;
	}
	uint32_t *crcs = malloc(n * sizeof(*crcs));
	uint32_t *offsets = malloc(n * sizeof(*offsets));
	unsigned char *out = malloc((size_t)total);
	if (!crcs || !offsets || !out) {
		free(out);
		out = NULL;
		goto cleanup;
	}
	unsigned char *p = out;
	for (size_t i = 0; i < n; i++) {
		const struct zip_entry *e = &entries[i];
		size_t name_len = strlen(e->name);
		crcs[i] = zip_crc32(e->data, e->len);
		offsets[i] = (uint32_t)(p - out);
		p = put32(p, ZIP_LOCAL_SIG);
		p = put_common(p, e, crcs[i]);
		memcpy(p, e->name, name_len);
		p += name_len;
		if (e->len)
			memcpy(p, e->data, e->len);
		p += e->len;
	}
	uint32_t central_offset = (uint32_t)(p - out);
	for (size_t i = 0; i < n; i++) {
		const struct zip_entry *e = &entries[i];
		size_t name_len = strlen(e->name);
		p = put32(p, ZIP_CENTRAL_SIG);
		p = put16(p, ZIP_VERSION); /* version made by: MS-DOS attributes, 1.0 */
		p = put_common(p, e, crcs[i]);
		p = put16(p, 0); /* comment length */
		p = put16(p, 0); /* disk number */
		p = put16(p, 0); /* internal attributes */
		p = put32(p, 0); /* external attributes */
		p = put32(p, offsets[i]);
		memcpy(p, e->name, name_len);
		p += name_len;
	}
	uint32_t central_len = (uint32_t)(p - out) - central_offset;
	p = put32(p, ZIP_END_SIG);
	p = put16(p, 0); /* this disk */
	p = put16(p, 0); /* the central directory's disk */
	p = put16(p, (uint32_t)n);
	p = put16(p, (uint32_t)n);
	p = put32(p, central_len);
	p = put32(p, central_offset);
	p = put16(p, 0); /* comment length */
	*len_out = (size_t)(p - out);
cleanup:
	free(crcs);
	free(offsets);
	return out;
}
