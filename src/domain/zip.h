/* A ZIP archive writer of stored (uncompressed) entries, for the Apple Wallet pass (a .pkpass
 * is a ZIP of pass.json, images, manifest.json and signature). Storing needs no zlib, and the
 * pass's files are small JSON and PNG (already compressed), so compressing would gain little. */
#ifndef KOPILKA_DOMAIN_ZIP_H
#define KOPILKA_DOMAIN_ZIP_H

#include <stddef.h>
#include <stdint.h>

/* One file of an archive: its name inside (ASCII, no leading slash) and its bytes. */
struct zip_entry {
	const char *name;
	const unsigned char *data;
	size_t len;
};

/* The most entries an archive takes (the classic format's 16-bit count) and the most bytes
 * it may reach (its 32-bit offsets; no ZIP64). */
#define ZIP_MAX_ENTRIES 65535
#define ZIP_MAX_BYTES 0xffffffffu

/* CRC-32 (ISO 3309, the polynomial 0xEDB88320 reflected) of len bytes, as ZIP records it. */
uint32_t zip_crc32(const void *data, size_t len);

/* Writes the archive of the n entries in their order: a local header and the bytes of each
 * (method 0, stored; every time 1980-01-01 00:00, so the same entries give the same bytes),
 * then the central directory and its end record. Returns the archive (the caller frees it)
 * with its length in *len_out, or NULL when n is 0 or over ZIP_MAX_ENTRIES, a name is empty
 * or over 65535 bytes, the archive would pass ZIP_MAX_BYTES, or memory ran out. */
unsigned char *zip_store(const struct zip_entry *entries, size_t n, size_t *len_out);

#endif
