/* libFuzzer target: what customers type, as domain/text normalizes it (phones, emails, the
 * %-patterns of the client search, UTF-8 checks) against its contracts: a phone comes out as
 * 1 to 15 digits and normalizing it again changes nothing; an email comes out trimmed, within
 * EMAIL_MAX and stable; a compiled pattern fits its buffers and a prefix's upper bound is
 * above the prefix.
 *
 * Input: the text (a NUL ends it, as it would in a C string from the transport). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *in = xstrndup((const char *)data, size);
	size_t len = strlen(in);

	bool utf8 = text_utf8_valid(in, len);
	if (utf8 && text_utf8_length(in) > len)
		abort();

	char phone[PHONE_MAX_DIGITS + 1], again[PHONE_MAX_DIGITS + 1];
	if (phone_normalize(in, phone)) {
		size_t n = strlen(phone);
		if (n < 1 || n > PHONE_MAX_DIGITS || strspn(phone, "0123456789") != n)
			abort();
		if (!phone_normalize(phone, again) || strcmp(phone, again) != 0)
			abort();
	}

	char email[EMAIL_MAX + 1], email2[EMAIL_MAX + 1];
	if (email_normalize(in, email)) {
		size_t n = strlen(email);
		if (n < 3 || n > EMAIL_MAX || !strchr(email, '@'))
			abort();
		if (!email_normalize(email, email2) || strcmp(email, email2) != 0)
			abort();
		text_ascii_lower(email2);
		if (strlen(email2) != n)
			abort();
	}

	char cleaned[PATTERN_MAX + 1];
	if (phone_pattern_clean(in, cleaned) && strlen(cleaned) > PATTERN_MAX)
		abort();

	struct pattern p;
	if (pattern_compile(in, &p)) {
		if (len > PATTERN_MAX || strlen(p.text) > 2 * PATTERN_MAX)
			abort();
		if (p.kind == PATTERN_PREFIX && strlen(p.upper) > PATTERN_MAX)
			abort();
		if (p.kind == PATTERN_PREFIX && *p.upper && strcmp(p.upper, p.text) <= 0)
			abort();
	} else if (len <= PATTERN_MAX) {
		abort();
	}
	free(in);
	return 0;
}
