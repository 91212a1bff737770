/* The cabinet sessions' pure rules (see lk.h). */
#include "domain/lk.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lk_session_clear(struct lk_session *s)
{
	free(s->merchant_name);
	s->merchant_name = NULL;
}

enum role lk_effective_role(const struct account *acc)
{
	return acc->kind == ACCOUNT_MERCHANT ? ROLE_OWNER : acc->role;
}

enum lk_state lk_session_state(const struct lk_session *s, const struct account *acc,
			       int64_t now_ms, int64_t idle_ms, int64_t lifetime_ms)
{
	if (!acc || acc->id != s->account_id || acc->merchant_id != s->merchant_id ||
	    acc->cred_version != s->cred_version || lk_effective_role(acc) != s->role)
		return LK_REVOKED;
	if (now_ms - s->created_ms >= lifetime_ms)
		return LK_TOO_OLD;
	if (now_ms - s->seen_ms >= idle_ms)
		return LK_IDLE;
	return LK_LIVE;
}

bool lk_touch_due(const struct lk_session *s, int64_t now_ms, int64_t idle_ms)
{
	int64_t every = idle_ms / 2 < LK_TOUCH_EVERY_MS ? idle_ms / 2 : LK_TOUCH_EVERY_MS;
	return now_ms - s->seen_ms >= every;
}

/* The first cookie named `name` in header: its value and length (trailing blanks left out).
 * False when there is none. */
static bool cookie_find(const char *header, const char *name, const char **value_out,
			size_t *len_out)
{
	size_t name_len = strlen(name);
	for (const char *p = header; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
			const char *v = p + name_len + 1;
			size_t v_len = len - name_len - 1;
			while (v_len && (v[v_len - 1] == ' ' || v[v_len - 1] == '\t'))
				v_len--;
			*value_out = v;
			*len_out = v_len;
			return true;
		}
		p = end;
	}
	return false;
}

bool lk_cookie_present(const char *header, const char *name)
{
	const char *value;
	size_t len;
	return cookie_find(header, name, &value, &len);
}

bool lk_cookie_value(const char *header, const char *name, char *out, size_t cap)
{
	const char *value;
	size_t len;
	if (!cookie_find(header, name, &value, &len) || len == 0 || len >= cap)
		return false;
	memcpy(out, value, len);
	out[len] = '\0';
	return true;
}

bool lk_token_shape(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char ch = s[n];
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		if (!ok)
			return false;
	}
	return n == LK_TOKEN_CHARS;
}

/* An address as bytes: 4 for IPv4, 16 for IPv6; 0 when text is neither. */
static size_t parse_addr(const char *text, size_t len, unsigned char out[16])
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return 16;
	return 0;
}

/* Calls each item of the comma list with its trimmed text; stops when fn returns false and
 * answers that item's start, or NULL when every item passed. */
static const char *each_item(const char *list, bool (*fn)(const char *item, size_t len, void *ctx),
			     void *ctx)
{
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		size_t trimmed = len;
		while (trimmed && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
			trimmed--;
		if (!fn(p, trimmed, ctx))
			return p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return NULL;
}

struct addr_match {
	unsigned char addr[16];
	size_t len;
};

static bool differs(const char *item, size_t len, void *ctx)
{
	const struct addr_match *want = ctx;
	unsigned char bytes[16];
	size_t n = parse_addr(item, len, bytes);
	return !(n && n == want->len && memcmp(bytes, want->addr, n) == 0);
}

bool lk_proxy_trusted(const char *list, const char *addr)
{
	struct addr_match want;
	if (!list || !*list || !addr)
		return false;
	want.len = parse_addr(addr, strlen(addr), want.addr);
	return want.len && each_item(list, differs, &want) != NULL;
}

static bool is_address(const char *item, size_t len, void *ctx)
{
	(void)ctx;
	unsigned char bytes[16];
	return parse_addr(item, len, bytes) != 0;
}

bool lk_proxy_list_valid(const char *list, const char **bad_out)
{
	const char *bad = each_item(list, is_address, NULL);
	if (bad_out)
		*bad_out = bad;
	return bad == NULL;
}

bool lk_request_secure(const char *trusted_list, const char *addr, const char *forwarded_proto)
{
	return forwarded_proto && strcasecmp(forwarded_proto, "https") == 0 &&
	       lk_proxy_trusted(trusted_list, addr);
}
