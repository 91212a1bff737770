/* Google Wallet's REST API (see gwallet_api.h). */
#include "http/gwallet_api.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"

/* A token is used until this long before Google said it expires. */
#define TOKEN_MARGIN_S 60

struct gwallet_api {
	const struct gwallet *g;
	char *api_url, *token_url;
	int64_t timeout_ms;
	pthread_mutex_t mu; /* guards the token */
	char *token;	    /* the access token, or NULL */
	int64_t token_until_s;
	uint64_t token_version; /* bumped when a token is dropped: a fetch begun before keeps
				   nothing */
};

static int64_t wall_s(void)
{
	return (int64_t)time(NULL);
}

struct gwallet_api *gwallet_api_new(const struct gwallet *g, const char *api_url,
				    const char *token_url, int64_t timeout_ms)
{
	struct gwallet_api *a = xcalloc(1, sizeof(*a));
	a->g = g;
	/* Without its trailing slashes: paths are appended. */
	a->api_url = xstrdup(api_url);
	size_t n = strlen(a->api_url);
	while (n > 0 && a->api_url[n - 1] == '/')
		a->api_url[--n] = '\0';
	a->token_url = xstrdup(token_url);
	a->timeout_ms = timeout_ms;
	pthread_mutex_init(&a->mu, NULL);
	return a;
}

static void drop_token(struct gwallet_api *a)
{
	if (a->token) {
		sodium_memzero(a->token, strlen(a->token));
		free(a->token);
	}
	a->token = NULL;
	a->token_until_s = 0;
	a->token_version++;
}

void gwallet_api_free(struct gwallet_api *a)
{
	if (!a)
		return;
	drop_token(a);
	pthread_mutex_destroy(&a->mu);
	free(a->api_url);
	free(a->token_url);
	free(a);
}

/* Asks the token endpoint for an access token: the token (heap) and its lifetime, or NULL with
 * res saying why. */
static char *fetch_token(struct gwallet_api *a, int64_t *expires_in, struct outbound_result *res)
{
	char *assertion = gwallet_token_assertion(a->g, a->token_url, wall_s());
	if (!assertion) {
		memset(res, 0, sizeof(*res));
		snprintf(res->error, sizeof(res->error), "could not sign the token request");
		return NULL;
	}
	struct buf form, answer;
	buf_init(&form);
	buf_init(&answer);
	/* The assertion is base64url and dots: nothing in it needs escaping in a form. */
	buf_printf(&form,
		   "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer"
		   "&assertion=%s",
		   assertion);
	free(assertion);
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
				 "Accept: application/json"};
	struct outbound_request r = {.method = "POST",
				     .url = a->token_url,
				     .headers = headers,
				     .n_headers = 2,
				     .body = form.data,
				     .len = form.len,
				     .timeout_ms = a->timeout_ms,
				     .allow_private =
					 true, /* the operator's setting, not a merchant's */
				     .answer = &answer};
	outbound_request(&r, res);
	buf_free(&form);
	char *token = NULL;
	if (res->status >= 200 && res->status < 300) {
		json_t *doc = json_loadb(answer.data, answer.len, 0, NULL);
		const char *t = json_string_value(json_object_get(doc, "access_token"));
		json_t *exp = json_object_get(doc, "expires_in");
		if (t && *t && json_is_integer(exp) && json_integer_value(exp) > 0) {
			token = xstrdup(t);
			*expires_in = json_integer_value(exp);
		} else {
			snprintf(res->error, sizeof(res->error),
				 "the token endpoint's answer has no access_token and expires_in");
		}
		json_decref(doc);
	} else if (res->status) {
		snprintf(res->error, sizeof(res->error), "the token endpoint answered HTTP %ld",
			 res->status);
	}
	if (answer.data)
		sodium_memzero(answer.data, answer.len);
	buf_free(&answer);
	return token;
}

/* The access token to use (heap: the caller frees), fetched when none is held or it is about
 * to expire; NULL with res saying why. */
static char *access_token(struct gwallet_api *a, struct outbound_result *res)
{
	pthread_mutex_lock(&a->mu);
	if (a->token && wall_s() < a->token_until_s) {
		char *t = xstrdup(a->token);
		pthread_mutex_unlock(&a->mu);
		return t;
	}
	uint64_t version = a->token_version;
	pthread_mutex_unlock(&a->mu);
	int64_t expires_in = 0;
	char *t = fetch_token(a, &expires_in, res);
	if (!t)
		return NULL;
	pthread_mutex_lock(&a->mu);
	/* Kept unless a token was dropped while this one was asked for. */
	if (version == a->token_version) {
		drop_token(a);
		a->token = xstrdup(t);
		a->token_until_s = wall_s() + expires_in - TOKEN_MARGIN_S;
	}
	pthread_mutex_unlock(&a->mu);
	return t;
}

/* Forgets token (the API refused it), unless another one replaced it meanwhile. */
static void forget_token(struct gwallet_api *a, const char *token)
{
	pthread_mutex_lock(&a->mu);
	if (a->token && strcmp(a->token, token) == 0)
		drop_token(a);
	pthread_mutex_unlock(&a->mu);
}

static void free_token(char *t)
{
	if (t) {
		sodium_memzero(t, strlen(t));
		free(t);
	}
}

/* One PATCH of the object with token. */
static void patch(struct gwallet_api *a, const char *object_id, const char *body, const char *token,
		  struct outbound_result *res)
{
	struct buf url, auth;
	buf_init(&url);
	buf_init(&auth);
	buf_printf(&url, "%s/walletobjects/v1/loyaltyObject/%s", a->api_url, object_id);
	buf_printf(&auth, "Authorization: Bearer %s", token);
	const char *headers[] = {"Content-Type: application/json", auth.data};
	struct outbound_request r = {.method = "PATCH",
				     .url = url.data,
				     .headers = headers,
				     .n_headers = 2,
				     .body = body,
				     .len = strlen(body),
				     .timeout_ms = a->timeout_ms,
				     .allow_private = true};
	outbound_request(&r, res);
	sodium_memzero(auth.data, auth.len);
	buf_free(&auth);
	buf_free(&url);
}

enum gwallet_sent gwallet_api_set_points(struct gwallet_api *a, int64_t merchant_id,
					 int64_t client_id, const char *points,
					 struct outbound_result *res)
{
	char object_id[GWALLET_ID_BYTES];
	gwallet_object_id(a->g, merchant_id, client_id, object_id);
	char *body = gwallet_points_patch(points);
	enum gwallet_sent sent = GWALLET_RETRY;
	/* A 401 with a kept token: it was revoked or expired early; once more with a new one. */
	for (int attempt = 0; attempt < 2; attempt++) {
		char *token = access_token(a, res);
		if (!token)
			break;
		patch(a, object_id, body, token, res);
		if (res->status == 401 && attempt == 0) {
			forget_token(a, token);
			free_token(token);
			continue;
		}
		free_token(token);
		long st = res->status;
		if (st >= 200 && st < 300)
			sent = GWALLET_SENT;
		else if (st == 404)
			sent = GWALLET_NOT_SAVED;
		else if (st == 0 || st == 429 || st >= 500)
			sent = GWALLET_RETRY;
		else
			sent = GWALLET_FAILED;
		break;
	}
	free(body);
	return sent;
}
