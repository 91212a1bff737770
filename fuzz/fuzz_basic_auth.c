/* libFuzzer target: decoding of the Authorization header (auth_parse_basic: "Basic", base64,
 * the login:password split, the login's normalization) and of API keys (auth_key_parse). Pure:
 * no storage, no Argon2.
 *
 * Input: the header value. Besides parsing it as it is, the input is also taken as the decoded
 * credential: base64-encoded behind "Basic ", it must come back with the password exactly the
 * text after the first colon. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "domain/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *header = xstrndup((const char *)data, size);
	char login[EMAIL_MAX + 1], password[512];
	if (auth_parse_basic(header, login, sizeof(login), password, sizeof(password))) {
		size_t n = strlen(login);
		if (n == 0 || n > EMAIL_MAX || strlen(password) >= sizeof(password))
			abort();
	}
	int64_t key_id = 0;
	const char *secret = NULL;
	if (auth_key_parse(header, &key_id, &secret) && (key_id <= 0 || strlen(secret) != 32))
		abort();

	/* The input as the credential itself. */
	size_t b64_cap = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL);
	char *basic = xmalloc(6 + b64_cap);
	memcpy(basic, "Basic ", 6);
	sodium_bin2base64(basic + 6, b64_cap, data, size, sodium_base64_VARIANT_ORIGINAL);
	if (auth_parse_basic(basic, login, sizeof(login), password, sizeof(password))) {
		const char *colon = memchr(data, ':', size);
		if (!colon || memchr(data, '\0', size))
			abort();
		size_t pw_len = size - (size_t)(colon - (const char *)data) - 1;
		if (strlen(password) != pw_len || memcmp(password, colon + 1, pw_len) != 0)
			abort();
	}
	free(basic);
	free(header);
	return 0;
}
