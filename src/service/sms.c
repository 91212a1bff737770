/* The SMS gateways of the join page (see sms.h). */
#include "service/sms.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "domain/text.h"
#include "http/outbound.h"

bool sms_config_valid(const struct config *cfg, char *error, size_t cap)
{
	if (strcmp(cfg->sms_gateway, "http") == 0 && !text_http_url(cfg->sms_url)) {
		snprintf(error, cap,
			 "--sms-url: must be an http or https URL when --sms-gateway is http");
		return false;
	}
	return true;
}

bool sms_send(const struct config *cfg, const char *phone, const char *text, char *error,
	      size_t cap)
{
	if (strcmp(cfg->sms_gateway, "http") != 0) {
		/* The development gateway: the code is read from the log. */
		log_info("sms: to %s text %s", phone, text);
		return true;
	}
	json_t *doc = json_pack("{s:s,s:s}", "phone", phone, "text", text);
	char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body) {
		snprintf(error, cap, "the SMS request could not be built");
		return false;
	}
	char auth[1024];
	const char *headers[2] = {"Content-Type: application/json", auth};
	size_t n_headers = 1;
	if (*cfg->sms_token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->sms_token);
		n_headers = 2;
	}
	/* The URL is the operator's, not a merchant's (unlike a webhook's): private and loopback
	 * addresses are allowed, an SMS adapter on the same host included. */
	struct outbound_result res;
	outbound_post(cfg->sms_url, headers, n_headers, body, strlen(body), cfg->sms_timeout_ms,
		      true, &res);
	free(body);
	if (res.status >= 200 && res.status < 300) {
		log_info("sms: sent to the gateway (HTTP %ld, %lld ms)", res.status,
			 (long long)res.latency_ms);
		return true;
	}
	if (res.status)
		snprintf(error, cap, "the SMS gateway answered HTTP %ld", res.status);
	else
		snprintf(error, cap, "the SMS gateway could not be reached: %s", res.error);
	log_warn("sms: not sent: %s", error);
	return false;
}
