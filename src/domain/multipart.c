/* multipart/form-data parsing (see multipart.h). The grammar is RFC 2046 section 5.1.1:
 *
 *   body      := [preamble CRLF] dash-boundary padding CRLF part
 *                *(CRLF dash-boundary padding CRLF part) CRLF dash-boundary "--" [epilogue]
 *   part      := headers CRLF content        (headers: lines "Name: value" CRLF)
 *
 * with dash-boundary = "--" boundary and padding = spaces and tabs. Every delimiter is found
 * by a search for CRLF "--" boundary, which cannot match a shorter stretch than the boundary
 * itself: the whole parse touches each byte a bounded number of times. */
#include "domain/multipart.h"

#include <string.h>
#include <strings.h>

/* Longest parameter value kept (a part's name, a boundary). */
#define PARAM_VALUE_MAX 255

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* First occurrence of needle (n bytes, n > 0) in [hay, hay + len), or NULL. */
static const char *find(const char *hay, size_t len, const char *needle, size_t n)
{
	const char *end = hay + len;
	while ((size_t)(end - hay) >= n) {
		const char *p = memchr(hay, needle[0], (size_t)(end - hay) - n + 1);
		if (!p)
			return NULL;
		if (memcmp(p, needle, n) == 0)
			return p;
		hay = p + 1;
	}
	return NULL;
}

/* Reads the next `; key=value` parameter of a header value from *pp (up to end). The value is
 * unquoted (a quoted-string's backslash escapes resolved) into val (PARAM_VALUE_MAX+1 bytes);
 * *too_long is set when it did not fit (val then holds its start). Returns 1 for a parameter,
 * 0 at the end of the value, -1 when the syntax is broken. */
static int param_next(const char **pp, const char *end, char *key, size_t key_cap, char *val,
		      bool *too_long)
{
	const char *p = *pp;
	while (p < end && is_ows(*p))
		p++;
	if (p == end)
		return 0;
	if (*p != ';')
		return -1;
	p++;
	while (p < end && is_ows(*p))
		p++;
	if (p == end) /* a trailing ';' */
		return 0;
	size_t k = 0;
	while (p < end && *p != '=' && *p != ';' && !is_ows(*p)) {
		if (k + 1 >= key_cap)
			return -1;
		key[k++] = *p++;
	}
	key[k] = '\0';
	while (p < end && is_ows(*p))
		p++;
	if (k == 0 || p == end || *p != '=')
		return -1;
	p++;
	while (p < end && is_ows(*p))
		p++;
	size_t v = 0;
	*too_long = false;
	if (p < end && *p == '"') {
		p++;
		for (;;) {
			if (p == end)
				return -1; /* an unterminated quoted-string */
			char ch = *p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (p == end)
					return -1;
				ch = *p++;
			}
			if (v < PARAM_VALUE_MAX)
				val[v++] = ch;
			else
				*too_long = true;
		}
	} else {
		while (p < end && *p != ';' && !is_ows(*p)) {
			if (v < PARAM_VALUE_MAX)
				val[v++] = *p;
			else
				*too_long = true;
			p++;
		}
		if (v == 0)
			return -1;
	}
	val[v] = '\0';
	*pp = p;
	return 1;
}

/* RFC 2046 bchars: what a boundary may be made of. */
static bool boundary_char(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("'()+_,-./:=? ", ch));
}

enum multipart_ct multipart_content_type(const char *content_type, char *boundary)
{
	static const char type[] = "multipart/form-data";
	boundary[0] = '\0';
	if (!content_type)
		return MULTIPART_CT_OTHER;
	const char *p = content_type, *end = content_type + strlen(content_type);
	while (p < end && is_ows(*p))
		p++;
	size_t n = sizeof(type) - 1;
	if ((size_t)(end - p) < n || strncasecmp(p, type, n) != 0)
		return MULTIPART_CT_OTHER;
	p += n;
	if (p < end && *p != ';' && !is_ows(*p))
		return MULTIPART_CT_OTHER; /* multipart/form-dataX */
	char key[32], val[PARAM_VALUE_MAX + 1];
	bool seen = false, too_long;
	int rc;
	while ((rc = param_next(&p, end, key, sizeof(key), val, &too_long)) == 1) {
		if (strcasecmp(key, "boundary") != 0)
			continue;
		if (seen || too_long || strlen(val) > MULTIPART_BOUNDARY_MAX) {
			rc = -1;
			break;
		}
		seen = true;
		memcpy(boundary, val, strlen(val) + 1);
	}
	size_t len = strlen(boundary);
	bool ok = rc == 0 && seen && len >= 1 && boundary[len - 1] != ' ';
	for (size_t i = 0; ok && i < len; i++)
		ok = boundary_char(boundary[i]);
	if (!ok) {
		boundary[0] = '\0';
		return MULTIPART_CT_BAD_BOUNDARY;
	}
	return MULTIPART_CT_OK;
}

/* Reads one part's header block [h, end): CRLF-separated lines. Sets *name to the name of its
 * Content-Disposition: form-data header. Returns NULL when fine, else why not. */
static const char *part_headers(const char *h, const char *end, char *name)
{
	static const char cd[] = "content-disposition";
	bool seen = false;
	while (h < end) {
		const char *eol = find(h, (size_t)(end - h), "\r\n", 2);
		if (!eol)
			eol = end;
		if (memchr(h, '\r', (size_t)(eol - h)) || memchr(h, '\n', (size_t)(eol - h)))
			return "a bare CR or LF in a part's headers";
		const char *colon = memchr(h, ':', (size_t)(eol - h));
		if (!colon || colon == h)
			return "a part's header line has no name";
		size_t key_len = (size_t)(colon - h);
		if (key_len == sizeof(cd) - 1 && strncasecmp(h, cd, key_len) == 0) {
			if (seen)
				return "a part has two Content-Disposition headers";
			seen = true;
			const char *p = colon + 1;
			while (p < eol && is_ows(*p))
				p++;
			const char *type = p;
			while (p < eol && *p != ';' && !is_ows(*p))
				p++;
			if ((size_t)(p - type) != 9 || strncasecmp(type, "form-data", 9) != 0)
				return "a part's Content-Disposition is not form-data";
			char key[32], val[PARAM_VALUE_MAX + 1];
			bool too_long;
			int rc;
			name[0] = '\0';
			bool named = false;
			while ((rc = param_next(&p, eol, key, sizeof(key), val, &too_long)) == 1) {
				if (strcasecmp(key, "name") != 0)
					continue; /* filename, filename*: not used */
				if (named)
					return "a part's Content-Disposition names it twice";
				if (too_long)
					return "a part's name is longer than 255 bytes";
				named = true;
				memcpy(name, val, strlen(val) + 1);
			}
			if (rc < 0)
				return "a part's Content-Disposition parameters are malformed";
			if (!named)
				return "a part's Content-Disposition has no name";
		}
		h = eol + 2;
	}
	return seen ? NULL : "a part has no Content-Disposition header";
}

bool multipart_find(const char *body, size_t len, const char *boundary, const char *name,
		    struct multipart_part *part, int *n_found, const char **why)
{
	char delim[4 + MULTIPART_BOUNDARY_MAX + 1]; /* CRLF "--" boundary */
	size_t blen = strlen(boundary);
	part->data = NULL;
	part->len = 0;
	*n_found = 0;
	*why = NULL;
	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX) {
		*why = "the boundary must be 1 to 70 characters";
		return false;
	}
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	size_t dlen = 4 + blen;
	const char *end = body + len;
	/* The first delimiter opens the body or follows a preamble line. */
	const char *p;
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
		p = body + dlen - 2;
	} else {
		const char *at = find(body, len, delim, dlen);
		if (!at) {
			*why = "the body does not contain the boundary of the Content-Type";
			return false;
		}
		p = at + dlen;
	}
	for (int parts = 0;; parts++) {
		/* p is just past a delimiter: "--" closes the body, else padding and CRLF. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return true;
		while (p < end && is_ows(*p))
			p++;
		if (p == end) {
			*why = "the closing boundary is missing (truncated body?)";
			return false;
		}
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
			*why = "a boundary line does not end with CRLF";
			return false;
		}
		p += 2;
		if (parts == MULTIPART_PARTS_MAX) {
			*why = "more than 64 parts";
			return false;
		}
		/* The header block ends at an empty line. */
		const char *headers_end;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			headers_end = p;
		} else {
			size_t window = (size_t)(end - p);
			if (window > MULTIPART_HEADERS_MAX + 4)
				window = MULTIPART_HEADERS_MAX + 4;
			headers_end = find(p, window, "\r\n\r\n", 4);
			if (!headers_end) {
				*why = (size_t)(end - p) > MULTIPART_HEADERS_MAX + 4
					   ? "a part's headers are longer than 8192 bytes"
					   : "a part's headers do not end (truncated body?)";
				return false;
			}
			headers_end += 2; /* keep the CRLF that ends the last header line out */
		}
		char part_name[PARAM_VALUE_MAX + 1];
		*why = part_headers(p, headers_end, part_name);
		if (*why)
			return false;
		const char *content = headers_end + 2;
		const char *next = find(content, (size_t)(end - content), delim, dlen);
		if (!next) {
			*why = "the closing boundary is missing (truncated body?)";
			return false;
		}
		if (strcmp(part_name, name) == 0 && ++*n_found == 1) {
			part->data = content;
			part->len = (size_t)(next - content);
		}
		p = next + dlen;
	}
}
