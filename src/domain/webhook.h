/* Signed webhooks (issue 16): the event types and their names, the rules of an endpoint's URL
 * and of the addresses a delivery may reach, and the retry schedule. Pure: no I/O. */
#ifndef KOPILKA_DOMAIN_WEBHOOK_H
#define KOPILKA_DOMAIN_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

/* Every event an endpoint may subscribe to; an endpoint stores its set as a mask of
 * (1 << type), so the numbers never change (append only). */
enum event_type {
	EVENT_CLIENT_CREATED = 0,
	EVENT_CLIENT_UPDATED,
	EVENT_ORDER_CREATED,
	EVENT_BALANCE_CHANGED,
	EVENT_POINTS_EXPIRING,
	EVENT_HOLD_CREATED,
	EVENT_HOLD_WRITTEN_OFF,
	EVENT_HOLD_CANCELLED,
	EVENT_HOLD_EXPIRED,
	EVENT_COUPON_ISSUED,
	EVENT_COUPON_REDEEMED,
	EVENT_TYPE_COUNT
};

#define EVENT_MASK(type) ((int64_t)1 << (type))
#define EVENT_MASK_ALL (((int64_t)1 << EVENT_TYPE_COUNT) - 1)

/* "client.created", …; NULL for a number that names no type. */
const char *event_type_name(int type);
/* The type of a name; -1 when it names none. */
int event_type_parse(const char *name);

/* Longest URL and secret an endpoint may have, in bytes. */
#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_SECRET_MIN 16
#define WEBHOOK_SECRET_MAX 128
/* A delivery is retried this long after its event (or its redelivery), then failed. */
#define WEBHOOK_RETRY_WINDOW_MS (3LL * 24 * 3600 * 1000)
/* The longest wait between two attempts. */
#define WEBHOOK_BACKOFF_MAX_MS (3600LL * 1000)

/* An endpoint's URL: an absolute http:// or https:// URL with a host, no user info, no
 * fragment, printable ASCII only, at most WEBHOOK_URL_MAX bytes. false: *rule names the rule
 * it breaks (a static string). */
bool webhook_url_ok(const char *url, const char **rule);

/* A secret chosen by the merchant: WEBHOOK_SECRET_MIN..MAX printable ASCII characters. */
bool webhook_secret_ok(const char *secret);

/* True when addr (IPv4 or IPv6) is one a delivery must not reach without
 * --webhook-allow-private: unspecified, loopback, link-local, private (RFC 1918, unique
 * local fc00::/7), CGNAT 100.64/10, multicast or broadcast, and IPv4-mapped forms of those. */
bool webhook_addr_refused(const struct sockaddr *addr);

/* The wait before attempt number attempts+1 (attempts already made >= 1): base * 2^(attempts-1)
 * capped at WEBHOOK_BACKOFF_MAX_MS, times a jitter factor of 0.5 + jitter_permille/1000
 * (jitter_permille 0..999: the caller's random draw). */
int64_t webhook_backoff_ms(int64_t attempts, int64_t base_ms, unsigned jitter_permille);

#endif
