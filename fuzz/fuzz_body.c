/* libFuzzer target: the JSON body of every POST and PUT through the router's body parsing
 * (UTF-8 check, jansson, the oversized-number rewrite) and the route's validator and handler,
 * as the owner, on a throw-away database (fuzz/app.c).
 *
 * Input: a first line "METHOD /path" (the path under /ext/api/v1, e.g. "POST /fiscal/orders/"),
 * then the body bytes. Other methods than POST and PUT are skipped. */
#include <stdint.h>
#include <string.h>

#include "app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_app_init();
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	if (!nl)
		return 0;
	size_t line_len = (size_t)(nl - text);
	const char *method = NULL;
	if (line_len > 5 && memcmp(text, "POST ", 5) == 0)
		method = "POST";
	else if (line_len > 4 && memcmp(text, "PUT ", 4) == 0)
		method = "PUT";
	if (!method || line_len > 512)
		return 0;
	size_t skip = strlen(method) + 1;
	char path[600];
	int n =
	    snprintf(path, sizeof(path), "%s%.*s", API_BASE, (int)(line_len - skip), text + skip);
	if (n < 0 || (size_t)n >= sizeof(path) || memchr(path, '\0', (size_t)n))
		return 0;
	struct request req;
	fuzz_app_request(&req, method, path, nl + 1, size - line_len - 1);
	fuzz_app_call(&req);
	fuzz_app_request_free(&req);
	return 0;
}
