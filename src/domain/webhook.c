/* Webhook rules (see webhook.h). */
#include "domain/webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static const char *const type_names[EVENT_TYPE_COUNT] = {
    [EVENT_CLIENT_CREATED] = "client.created",	   [EVENT_CLIENT_UPDATED] = "client.updated",
    [EVENT_ORDER_CREATED] = "order.created",	   [EVENT_BALANCE_CHANGED] = "balance.changed",
    [EVENT_POINTS_EXPIRING] = "points.expiring",   [EVENT_HOLD_CREATED] = "hold.created",
    [EVENT_HOLD_WRITTEN_OFF] = "hold.written_off", [EVENT_HOLD_CANCELLED] = "hold.cancelled",
    [EVENT_HOLD_EXPIRED] = "hold.expired",	   [EVENT_COUPON_ISSUED] = "coupon.issued",
    [EVENT_COUPON_REDEEMED] = "coupon.redeemed",
};

const char *event_type_name(int type)
{
	return type >= 0 && type < EVENT_TYPE_COUNT ? type_names[type] : NULL;
}

int event_type_parse(const char *name)
{
	for (int i = 0; i < EVENT_TYPE_COUNT; i++)
		if (strcmp(type_names[i], name) == 0)
			return i;
	return -1;
}

bool webhook_url_ok(const char *url, const char **rule)
{
	size_t len = strlen(url);
	if (len > WEBHOOK_URL_MAX) {
		*rule = "must be at most 2048 characters";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)url[i];
		if (ch <= 0x20 || ch >= 0x7f) {
			*rule = "must be printable ASCII without spaces (percent-encode the rest)";
			return false;
		}
	}
	const char *host;
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else {
		*rule = "must be an absolute http:// or https:// URL";
		return false;
	}
	size_t host_len = strcspn(host, "/?#");
	if (host_len == 0 || host[0] == ':') {
		*rule = "must name a host";
		return false;
	}
	if (memchr(host, '@', host_len)) {
		*rule = "must not carry a user name or password";
		return false;
	}
	if (strchr(url, '#')) {
		*rule = "must not have a fragment";
		return false;
	}
	return true;
}

bool webhook_secret_ok(const char *secret)
{
	size_t len = strlen(secret);
	if (len < WEBHOOK_SECRET_MIN || len > WEBHOOK_SECRET_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)secret[i] < 0x21 || (unsigned char)secret[i] > 0x7e)
			return false;
	return true;
}

static bool ipv4_refused(uint32_t a)
{
	return (a >> 24) == 0 ||		     /* 0.0.0.0/8 */
	       (a >> 24) == 10 ||		     /* 10/8 */
	       (a >> 24) == 127 ||		     /* loopback */
	       (a >> 16) == 0xa9fe ||		     /* 169.254/16 link-local */
	       (a >> 20) == 0xac1 ||		     /* 172.16/12 */
	       (a >> 16) == 0xc0a8 ||		     /* 192.168/16 */
	       (a >> 22) == (100u << 2 | 1) ||	     /* 100.64/10 CGNAT */
	       (a >> 28) == 0xe || (a >> 28) == 0xf; /* multicast, reserved, broadcast */
}

bool webhook_addr_refused(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		return ipv4_refused(ntohl(in->sin_addr.s_addr));
	}
	if (addr->sa_family != AF_INET6)
		return true;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
	const uint8_t *b = a->s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(b, mapped, 12) == 0) {
		uint32_t v4 =
		    (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
		return ipv4_refused(v4);
	}
	static const uint8_t zero[15] = {0};
	if (memcmp(b, zero, 15) == 0)
		return true;				  /* :: and ::1 */
	return (b[0] & 0xfe) == 0xfc ||			  /* fc00::/7 unique local */
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
	       b[0] == 0xff;				  /* multicast */
}

int64_t webhook_backoff_ms(int64_t attempts, int64_t base_ms, unsigned jitter_permille)
{
	int64_t wait = base_ms < 1 ? 1 : base_ms;
	for (int64_t i = 1; i < attempts && wait < WEBHOOK_BACKOFF_MAX_MS; i++)
		wait *= 2;
	if (wait > WEBHOOK_BACKOFF_MAX_MS)
		wait = WEBHOOK_BACKOFF_MAX_MS;
	return wait / 2 + wait * (int64_t)(jitter_permille % 1000) / 1000;
}
