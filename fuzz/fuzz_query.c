/* libFuzzer target: query strings as the transport hands them over (split and unescaped like
 * libmicrohttpd, fuzz/app.c) through the central UTF-8 check and every handler that reads
 * query parameters: client search (phone/email patterns), paging, history and order list
 * ranges, coupon lookup, the shared-coupon redeem, as the owner on a throw-away database.
 *
 * Input: a first line "METHOD /path" (under /ext/api/v1, e.g. "GET /clients/"), then the raw
 * query string. An `api_key` parameter is dropped: with `login` it would make the hub routes
 * run an Argon2 verification per input (fuzz_basic_auth covers the login's parsing). */
#include <stdint.h>
#include <stdlib.h>
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
	const char *sp = memchr(text, ' ', line_len);
	if (!sp || sp == text || line_len > 512)
		return 0;
	static const char *const methods[] = {"GET", "PUT", "POST"};
	const char *method = NULL;
	for (size_t i = 0; i < ARRAY_LEN(methods); i++)
		if ((size_t)(sp - text) == strlen(methods[i]) &&
		    memcmp(text, methods[i], strlen(methods[i])) == 0)
			method = methods[i];
	if (!method)
		return 0;
	size_t method_len = strlen(method);
	char path[600];
	int n = snprintf(path, sizeof(path), "%s%.*s", API_BASE, (int)(line_len - method_len - 1),
			 sp + 1);
	if (n < 0 || (size_t)n >= sizeof(path) || memchr(path, '\0', (size_t)n))
		return 0;
	/* PUT and POST routes that read the query get an empty JSON object as their body. */
	bool writes = method != methods[0];
	struct request req;
	fuzz_app_request(&req, method, path, writes ? "{}" : NULL, writes ? 2 : 0);
	fuzz_app_query(&req, nl + 1, size - line_len - 1);
	for (size_t i = 0; i < req.n_query; i++)
		if (strcmp(req.query[i].key, "api_key") == 0)
			req.query[i].key[0] = '_';
	fuzz_app_call(&req);
	fuzz_app_request_free(&req);
	return 0;
}
