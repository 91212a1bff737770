/* libFuzzer target: the cabinet session's outside input (domain/lk.h): the Cookie header
 * (lk_cookie_present, lk_cookie_value, lk_token_shape) and a --trusted-proxy list with a peer
 * address (lk_proxy_list_valid, lk_proxy_trusted). Pure: no storage.
 *
 * Input: the first line is the proxy list, the second the peer address, the rest the Cookie
 * header; without a newline, all of it is taken as each. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/lk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *text = xstrndup((const char *)data, size);
	char *list = text, *addr = text, *cookie = text;
	char *nl = strchr(text, '\n');
	if (nl) {
		*nl = '\0';
		addr = nl + 1;
		cookie = addr;
		char *nl2 = strchr(addr, '\n');
		if (nl2) {
			*nl2 = '\0';
			cookie = nl2 + 1;
		}
	}
	char value[LK_TOKEN_CHARS + 2];
	bool found = lk_cookie_value(cookie, LK_COOKIE, value, sizeof(value));
	/* A value found is a non-empty string that fits, and the cookie is then present. */
	if (found &&
	    (!*value || strlen(value) >= sizeof(value) || !lk_cookie_present(cookie, LK_COOKIE)))
		abort();
	if (found && lk_token_shape(value) && strlen(value) != LK_TOKEN_CHARS)
		abort();
	const char *bad = NULL;
	bool valid = lk_proxy_list_valid(list, &bad);
	if (valid != (bad == NULL) || (bad && (bad < list || bad > list + strlen(list))))
		abort();
	/* An address trusted is one of a list; the empty list trusts none. */
	if (lk_proxy_trusted(list, addr) && !*list)
		abort();
	(void)lk_request_secure(list, addr, cookie);
	free(text);
	return 0;
}
