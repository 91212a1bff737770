/* libFuzzer target: the route matcher and everything before a handler (path ids and tokens,
 * 404/405 with Allow, the non-UTF-8 path echo, the per-route body limit) and the public routes
 * behind it (media files, docs files, receipt pages and their form posts, health, OpenAPI),
 * on a throw-away database (fuzz/app.c).
 *
 * Input: a first line "METHOD PATH" (the decoded path as the transport gives it, the base
 * included: "GET /ext/api/v1/clients/1/"), then an optional body sent as a form
 * (application/x-www-form-urlencoded, what a receipt page posts). GET and HEAD go as the owner
 * (so the {id} and {ref} segments reach the read handlers); other methods without
 * credentials. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_app_init();
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t line_len = nl ? (size_t)(nl - text) : size;
	const char *sp = memchr(text, ' ', line_len);
	if (!sp || sp == text || line_len > 2048)
		return 0;
	char method[16];
	size_t method_len = (size_t)(sp - text);
	if (method_len >= sizeof(method) || memchr(text, '\0', line_len))
		return 0;
	memcpy(method, text, method_len);
	method[method_len] = '\0';
	char *path = xstrndup(sp + 1, line_len - method_len - 1);

	/* The limit the transport reads bodies up to: one of the three the API has (the public
	 * reaction form's is the smallest, issue 12 B5). */
	size_t limit = api_body_max(method, path);
	if (limit != API_BODY_MAX && limit != API_UPLOAD_BODY_MAX && limit != API_FORM_BODY_MAX)
		abort();

	const char *body = nl ? nl + 1 : NULL;
	size_t body_len = nl ? size - line_len - 1 : 0;
	struct request req;
	fuzz_app_request(&req, method, path, body, body_len);
	free(path);
	bool reads = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (!reads) {
		free(req.authorization);
		req.authorization = NULL;
	}
	free(req.content_type);
	req.content_type = xstrdup("application/x-www-form-urlencoded");
	fuzz_app_call(&req);
	fuzz_app_request_free(&req);
	return 0;
}
