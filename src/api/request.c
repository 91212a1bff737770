/* Request and response structs of the API layer (see api.h). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

void request_free(struct request *req)
{
	free(req->path);
	for (size_t i = 0; i < req->n_query; i++) {
		free(req->query[i].key);
		free(req->query[i].value);
	}
	free(req->query);
	free(req->authorization);
	free(req->content_type);
	free(req->request_id_in);
	free(req->idempotency_key);
	free(req->cookie);
	free(req->csrf_token);
	free(req->forwarded_proto);
	free(req->if_modified_since);
	free(req->body);
	memset(req, 0, sizeof(*req));
}

void response_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body);
	resp->route = -1;
}

void response_free(struct response *resp)
{
	buf_free(&resp->body);
	if (resp->stream_free && resp->stream_ctx)
		resp->stream_free(resp->stream_ctx);
	for (int i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].key);
		free(resp->headers[i].value);
	}
	memset(resp, 0, sizeof(*resp));
}

void response_header(struct response *resp, const char *key, const char *value)
{
	if (resp->n_headers >= RESPONSE_MAX_HEADERS)
		abort(); /* a programming error: raise RESPONSE_MAX_HEADERS */
	resp->headers[resp->n_headers].key = xstrdup(key);
	resp->headers[resp->n_headers].value = xstrdup(value);
	resp->n_headers++;
}

const char *request_query(const struct request *req, const char *key)
{
	for (size_t i = 0; i < req->n_query; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}
