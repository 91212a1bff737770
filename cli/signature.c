/* Webhook signatures: HMAC-SHA256 with libsodium, compared with sodium_memcmp (constant
 * time), so a receiver leaks nothing about the expected signature through timing. */
#include "signature.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

const char *signature_result_text(enum signature_result result)
{
	switch (result) {
	case SIGNATURE_OK:
		return "ok";
	case SIGNATURE_MISSING:
		return "no Kopilka-Signature header";
	case SIGNATURE_MALFORMED:
		return "Kopilka-Signature is not t=<seconds>,v1=<hex>";
	case SIGNATURE_EXPIRED:
		return "Kopilka-Signature's t is outside the tolerance (replayed, or a clock is "
		       "off)";
	case SIGNATURE_MISMATCH:
		return "Kopilka-Signature does not match the body with this secret";
	}
	return "?";
}

static void hmac(const char *body, size_t body_len, const char *secret, const char *t,
		 unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, strlen(t));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
	crypto_auth_hmacsha256_final(&st, mac);
}

enum signature_result signature_verify(const char *header, const char *body, size_t body_len,
				       const char *secret, int64_t now_s, int64_t tolerance_s,
				       int64_t *t_out)
{
	if (!header)
		return SIGNATURE_MISSING;
	char t[24] = "";
	/* Each v1 decoded; the header is short, so a fixed cap on how many is fine. */
	unsigned char given[8][crypto_auth_hmacsha256_BYTES];
	int n_given = 0;
	bool any_v1 = false;
	const char *p = header;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len > 0 && p[0] == ' ') {
			p++;
			len--;
		}
		const char *eq = memchr(p, '=', len);
		if (!eq)
			return SIGNATURE_MALFORMED;
		size_t key_len = (size_t)(eq - p), value_len = len - key_len - 1;
		const char *value = eq + 1;
		if (key_len == 1 && p[0] == 't') {
			if (value_len == 0 || value_len >= sizeof(t))
				return SIGNATURE_MALFORMED;
			memcpy(t, value, value_len);
			t[value_len] = '\0';
		} else if (key_len == 2 && memcmp(p, "v1", 2) == 0) {
			any_v1 = true;
			size_t bin_len = 0;
			/* A v1 of the wrong length or not hex cannot match; it is skipped, so a
			 * header with a valid one beside it still verifies. */
			if (n_given < 8 && value_len == 2 * crypto_auth_hmacsha256_BYTES &&
			    sodium_hex2bin(given[n_given], crypto_auth_hmacsha256_BYTES, value,
					   value_len, NULL, &bin_len, NULL) == 0 &&
			    bin_len == crypto_auth_hmacsha256_BYTES)
				n_given++;
		}
		/* Other schemes (v0, a future v2) are ignored, as Stripe's verifiers do. */
		if (!end)
			break;
		p = end + 1;
	}
	if (!*t || !any_v1)
		return SIGNATURE_MALFORMED;
	char *tail;
	errno = 0;
	long long when = strtoll(t, &tail, 10);
	if (errno || *tail || when < 0)
		return SIGNATURE_MALFORMED;
	if (t_out)
		*t_out = when;
	unsigned char expected[crypto_auth_hmacsha256_BYTES];
	hmac(body, body_len, secret, t, expected);
	bool match = false;
	for (int i = 0; i < n_given; i++)
		if (sodium_memcmp(expected, given[i], sizeof(expected)) == 0)
			match = true;
	if (!match)
		return SIGNATURE_MISMATCH;
	/* Checked after the MAC, so an attacker learns nothing from which rule refused. */
	int64_t skew = now_s > when ? now_s - when : when - now_s;
	if (tolerance_s > 0 && skew > tolerance_s)
		return SIGNATURE_EXPIRED;
	return SIGNATURE_OK;
}

void signature_make(const char *body, size_t body_len, const char *secret, int64_t t, char *out,
		    size_t cap)
{
	char stamp[24];
	snprintf(stamp, sizeof(stamp), "%" PRId64, t);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	hmac(body, body_len, secret, stamp, mac);
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	snprintf(out, cap, "t=%s,v1=%s", stamp, hex);
}
