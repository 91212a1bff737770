/* Sending the join page's one-time codes (issue 15): to the server's log (--sms-gateway log, for
 * development: nothing leaves the machine) or as a JSON POST to an SMS provider's HTTP endpoint
 * (--sms-gateway http, --sms-url) through http/outbound.c. No HTTP of kopilka's own API here. */
#ifndef KOPILKA_SERVICE_SMS_H
#define KOPILKA_SERVICE_SMS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

/* Sends text to phone (digits) through the gateway of cfg. true: handed over (logged, or the
 * provider answered 2xx); false: not sent, why in error (cap bytes, never the token). Blocks up
 * to --sms-timeout-ms. */
bool sms_send(const struct config *cfg, const char *phone, const char *text, char *error,
	      size_t cap) MUST_CHECK;

/* Checks the SMS settings at start-up: --sms-url an http(s) URL when --sms-gateway is http.
 * false: the message naming the setting in error. */
bool sms_config_valid(const struct config *cfg, char *error, size_t cap) MUST_CHECK;

#endif
