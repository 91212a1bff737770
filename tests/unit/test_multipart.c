/* Unit tests of domain/multipart: the boundary as clients write it (quoted or not, any case),
 * bodies as curl, browsers and Python send them, the named part found among others, and every
 * way a body can be broken (truncated, bare LF, no boundary, no name) refused with a reason;
 * a deterministic mutation run checks that no input makes the parser read outside the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/multipart.h"

static void expect_boundary(const char *ct, const char *want)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];
	enum multipart_ct rc = multipart_content_type(ct, b);
	if (rc != MULTIPART_CT_OK)
		fail_msg("Content-Type \"%s\" refused (%d), want boundary \"%s\"", ct, rc, want);
	assert_string_equal(b, want);
}

static void expect_ct(const char *ct, enum multipart_ct want)
{
	char b[MULTIPART_BOUNDARY_MAX + 1];
	enum multipart_ct rc = multipart_content_type(ct, b);
	if (rc != want)
		fail_msg("Content-Type \"%s\": %d, want %d", ct ? ct : "(null)", rc, want);
	assert_string_equal(b, "");
}

static void test_content_type(void **state)
{
	(void)state;
	expect_boundary("multipart/form-data; boundary=abc", "abc");
	expect_boundary("Multipart/Form-Data;BOUNDARY=abc", "abc");
	expect_boundary("  multipart/form-data ; boundary = abc ", "abc");
	expect_boundary("multipart/form-data; boundary=------------------------d74496d66958873e",
			"------------------------d74496d66958873e");
	expect_boundary("multipart/form-data; boundary=\"a b:c?d=e\"", "a b:c?d=e");
	expect_boundary("multipart/form-data; charset=utf-8; boundary=\"q\\x\"", "qx");
	expect_boundary("multipart/form-data; boundary=abc;", "abc");
	/* 70 characters: the longest allowed. */
	expect_boundary("multipart/form-data; boundary="
			"0123456789012345678901234567890123456789012345678901234567890123456789",
			"0123456789012345678901234567890123456789012345678901234567890123456789");

	expect_ct(NULL, MULTIPART_CT_OTHER);
	expect_ct("", MULTIPART_CT_OTHER);
	expect_ct("application/json", MULTIPART_CT_OTHER);
	expect_ct("multipart/mixed; boundary=abc", MULTIPART_CT_OTHER);
	expect_ct("multipart/form-datax; boundary=abc", MULTIPART_CT_OTHER);
	expect_ct("image/png", MULTIPART_CT_OTHER);

	expect_ct("multipart/form-data", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data;", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=\"\"", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=\"abc", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=a; boundary=b", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=\"ends in space \"", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=\"a\tb\"", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=a\"b", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data; boundary=abc x", MULTIPART_CT_BAD_BOUNDARY);
	expect_ct("multipart/form-data boundary=abc", MULTIPART_CT_BAD_BOUNDARY);
	/* 71 characters: one too many. */
	expect_ct("multipart/form-data; boundary="
		  "01234567890123456789012345678901234567890123456789012345678901234567890",
		  MULTIPART_CT_BAD_BOUNDARY);
}

/* Parses body (a C string) for `name`; returns the part, failing the test when malformed. */
static struct multipart_part parse_ok(const char *body, const char *boundary, const char *name,
				      int want_found)
{
	struct multipart_part part;
	int n = -1;
	const char *why = "(unset)";
	if (!multipart_find(body, strlen(body), boundary, name, &part, &n, &why))
		fail_msg("body refused: %s\n%s", why, body);
	assert_null(why);
	assert_int_equal(n, want_found);
	if (want_found == 0) {
		assert_null(part.data);
		assert_int_equal(part.len, 0);
	} else {
		assert_true(part.data >= body && part.data + part.len <= body + strlen(body));
	}
	return part;
}

static void expect_content(const char *body, const char *boundary, const char *name,
			   const char *want)
{
	struct multipart_part part = parse_ok(body, boundary, name, 1);
	assert_int_equal(part.len, strlen(want));
	assert_memory_equal(part.data, want, part.len);
}

static void expect_malformed(const char *body, size_t len, const char *boundary,
			     const char *why_part)
{
	struct multipart_part part;
	int n;
	const char *why = NULL;
	if (multipart_find(body, len, boundary, "logo", &part, &n, &why))
		fail_msg("malformed body accepted:\n%.*s", (int)len, body);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("reason \"%s\" does not say \"%s\"", why, why_part);
}

#define CURL_BODY                                                                                  \
	"--------------------------d74496d66958873e\r\n"                                           \
	"Content-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\n"                 \
	"Content-Type: image/png\r\n"                                                              \
	"\r\n"                                                                                     \
	"PNGDATA\r\n"                                                                              \
	"--------------------------d74496d66958873e--\r\n"

static void test_find(void **state)
{
	(void)state;
	const char *curl_b = "------------------------d74496d66958873e";
	expect_content(CURL_BODY, curl_b, "logo", "PNGDATA");
	parse_ok(CURL_BODY, curl_b, "image", 0);
	/* Other parts before and after are skipped; header names and form-data in any case; an
	 * unquoted name; a preamble and an epilogue; padding after a delimiter. */
	expect_content("preamble, ignored\r\n"
		       "--XyZ  \r\n"
		       "content-disposition: Form-Data; name=title\r\n"
		       "\r\n"
		       "a title with --XyZ inside but not after CRLF\r\n"
		       "--XyZ\t\r\n"
		       "CONTENT-DISPOSITION: form-data; filename=\"a;b.jpg\"; name=\"image\"\r\n"
		       "Content-Type: application/octet-stream\r\n"
		       "\r\n"
		       "\r\nline\r\n-XyZ and \n--XyZ are content\r\n"
		       "--XyZ--",
		       "XyZ", "title", "a title with --XyZ inside but not after CRLF");
	expect_content("preamble\r\n--XyZ\r\n"
		       "Content-Disposition: form-data; name=title\r\n\r\nt\r\n"
		       "--XyZ\r\n"
		       "Content-Disposition: form-data; filename=\"a;b.jpg\"; name=\"image\"\r\n"
		       "\r\n"
		       "\r\nline\r\n-XyZ and \n--XyZ are content\r\n"
		       "--XyZ--\r\nepilogue",
		       "XyZ", "image", "\r\nline\r\n-XyZ and \n--XyZ are content");
	/* The content may hold CR, LF, NUL and dashes; it ends right before CRLF--boundary. */
	static const char bin[] = "--b\r\n"
				  "Content-Disposition: form-data; name=\"logo\"\r\n\r\n"
				  "\x89PNG\r\n\x1a\n\0\0-\r-\n--\r\n--b--";
	struct multipart_part part;
	int n;
	const char *why;
	assert_true(multipart_find(bin, sizeof(bin) - 1, "b", "logo", &part, &n, &why));
	assert_int_equal(n, 1);
	assert_int_equal(part.len, 16); /* the CRLF before the delimiter belongs to it */
	assert_memory_equal(part.data, "\x89PNG\r\n\x1a\n\0\0-\r-\n--", 16);
	/* An empty part and an empty body of parts. */
	expect_content("--b\r\nContent-Disposition: form-data; name=\"logo\"\r\n\r\n\r\n--b--", "b",
		       "logo", "");
	parse_ok("--b--\r\n", "b", "logo", 0);
	/* The same name twice: counted, the first returned. */
	struct multipart_part first =
	    parse_ok("--b\r\nContent-Disposition: form-data; name=logo\r\n\r\none\r\n"
		     "--b\r\nContent-Disposition: form-data; name=logo\r\n\r\ntwo\r\n--b--",
		     "b", "logo", 2);
	assert_memory_equal(first.data, "one", 3);
	/* A name is compared exactly: case, escapes, prefixes. */
	parse_ok("--b\r\nContent-Disposition: form-data; name=\"Logo\"\r\n\r\nx\r\n--b--", "b",
		 "logo", 0);
	parse_ok("--b\r\nContent-Disposition: form-data; name=\"logos\"\r\n\r\nx\r\n--b--", "b",
		 "logo", 0);
	expect_content("--b\r\nContent-Disposition: form-data; name=\"lo\\go\"\r\n\r\nx\r\n--b--",
		       "b", "logo", "x");
	/* A boundary with the characters RFC 2046 allows. */
	expect_content("--'()+_,-./:=? x\r\nContent-Disposition: form-data; name=logo\r\n\r\n"
		       "x\r\n--'()+_,-./:=? x--",
		       "'()+_,-./:=? x", "logo", "x");
}

static void test_malformed(void **state)
{
	(void)state;
	const char *curl_b = "------------------------d74496d66958873e";
	/* Truncated anywhere before the closing delimiter. */
	size_t full = strlen(CURL_BODY);
	size_t close_at = strstr(CURL_BODY, "PNGDATA") - CURL_BODY + 7;
	for (size_t len = 0; len < close_at + 2 + 2 + strlen(curl_b) + 2; len++) {
		struct multipart_part part;
		int n;
		const char *why;
		if (multipart_find(CURL_BODY, len, curl_b, "logo", &part, &n, &why))
			fail_msg("a body truncated to %zu of %zu bytes was accepted", len, full);
		assert_non_null(why);
	}
	expect_malformed("", 0, "b", "does not contain the boundary");
	expect_malformed("just text", 9, "b", "does not contain the boundary");
	expect_malformed(CURL_BODY, strlen(CURL_BODY), "other", "does not contain the boundary");
	/* Bare LF instead of CRLF. */
	const char *lf = "--b\nContent-Disposition: form-data; name=logo\n\nx\n--b--\n";
	expect_malformed(lf, strlen(lf), "b", "CRLF");
	const char *lf2 = "--b\r\nContent-Disposition: form-data; name=logo\n\r\n\r\nx\r\n--b--";
	expect_malformed(lf2, strlen(lf2), "b", "bare CR or LF");
	const char *cut = "--b\r\nContent-Disposition: form-data; name=logo\r\n\r\nx\r\n--b";
	expect_malformed(cut, strlen(cut), "b", "truncated");
	const char *cut2 = "--b\r\nContent-Disposition: form-data; name=logo\r\n\r\nx";
	expect_malformed(cut2, strlen(cut2), "b", "truncated");
	const char *cut3 = "--b\r\nContent-Disposition: form-data; name=logo\r\n";
	expect_malformed(cut3, strlen(cut3), "b", "truncated");
	const char *glued = "--bx\r\nContent-Disposition: form-data; name=logo\r\n\r\nx\r\n--b--";
	expect_malformed(glued, strlen(glued), "b", "does not end with CRLF");
	/* Parts that do not name themselves. */
	const char *no_cd = "--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--";
	expect_malformed(no_cd, strlen(no_cd), "b", "no Content-Disposition");
	const char *no_headers = "--b\r\n\r\nx\r\n--b--";
	expect_malformed(no_headers, strlen(no_headers), "b", "no Content-Disposition");
	const char *no_name =
	    "--b\r\nContent-Disposition: form-data; filename=a.png\r\n\r\nx\r\n--b--";
	expect_malformed(no_name, strlen(no_name), "b", "no name");
	const char *attach = "--b\r\nContent-Disposition: attachment; name=logo\r\n\r\nx\r\n--b--";
	expect_malformed(attach, strlen(attach), "b", "not form-data");
	const char *twice =
	    "--b\r\nContent-Disposition: form-data; name=a; name=logo\r\n\r\nx\r\n--b--";
	expect_malformed(twice, strlen(twice), "b", "names it twice");
	const char *two_cd = "--b\r\nContent-Disposition: form-data; name=a\r\n"
			     "Content-Disposition: form-data; name=logo\r\n\r\nx\r\n--b--";
	expect_malformed(two_cd, strlen(two_cd), "b", "two Content-Disposition");
	const char *unterminated =
	    "--b\r\nContent-Disposition: form-data; name=\"logo\r\n\r\nx\r\n--b--";
	expect_malformed(unterminated, strlen(unterminated), "b", "malformed");
	const char *no_colon = "--b\r\nContent-Disposition form-data; name=logo\r\n\r\nx\r\n--b--";
	expect_malformed(no_colon, strlen(no_colon), "b", "no name");
	expect_malformed(CURL_BODY, strlen(CURL_BODY), "", "1 to 70");
}

static void test_limits(void **state)
{
	(void)state;
	struct multipart_part part;
	int n;
	const char *why;
	/* 64 parts are fine, 65 are not. */
	static const char one[] = "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nx\r\n";
	size_t one_len = sizeof(one) - 1;
	char *body = malloc(one_len * 65 + 8);
	for (int parts = 64; parts <= 65; parts++) {
		size_t len = 0;
		for (int i = 0; i < parts; i++, len += one_len)
			memcpy(body + len, one, one_len);
		memcpy(body + len, "--b--", 5);
		len += 5;
		bool ok = multipart_find(body, len, "b", "p", &part, &n, &why);
		assert_int_equal(ok, parts == 64);
		if (ok)
			assert_int_equal(n, 64);
		else
			assert_non_null(strstr(why, "more than 64 parts"));
	}
	free(body);
	/* A header block longer than 8 KiB. */
	size_t cap = MULTIPART_HEADERS_MAX + 256;
	char *big = malloc(cap);
	int len = snprintf(big, cap, "--b\r\nContent-Disposition: form-data; name=logo\r\nX-Pad: ");
	while ((size_t)len < MULTIPART_HEADERS_MAX + 64)
		big[len++] = 'a';
	len += snprintf(big + len, cap - (size_t)len, "\r\n\r\nx\r\n--b--");
	assert_false(multipart_find(big, (size_t)len, "b", "logo", &part, &n, &why));
	assert_non_null(strstr(why, "longer than 8192"));
	free(big);
}

/* xorshift64: a deterministic sequence, so a failure reproduces. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mutates a valid body many times (flipped, dropped and inserted bytes, cuts): the parser
 * either accepts with the part inside the body or refuses with a reason; it never reads past
 * the end (the copy is exactly as long as the body, so AddressSanitizer would see it). */
static void test_mutations(void **state)
{
	(void)state;
	static const char seed[] = CURL_BODY;
	static const char alphabet[] = "\r\n-\"; =:abdlogoe\0\t";
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 20000; round++) {
		char work[sizeof(seed) + 16];
		size_t len = sizeof(seed) - 1;
		memcpy(work, seed, len);
		int edits = 1 + (int)(next_random(&rnd) % 4);
		for (int e = 0; e < edits && len > 0; e++) {
			size_t at = next_random(&rnd) % len;
			char ch = alphabet[next_random(&rnd) % (sizeof(alphabet) - 1)];
			switch (next_random(&rnd) % 4) {
			case 0:
				work[at] = ch;
				break;
			case 1:
				memmove(work + at, work + at + 1, len - at - 1);
				len--;
				break;
			case 2:
				if (len < sizeof(work)) {
					memmove(work + at + 1, work + at, len - at);
					work[at] = ch;
					len++;
				}
				break;
			default:
				len = at;
				break;
			}
		}
		char *exact = malloc(len ? len : 1);
		memcpy(exact, work, len);
		struct multipart_part part;
		int n;
		const char *why;
		if (multipart_find(exact, len, "------------------------d74496d66958873e", "logo",
				   &part, &n, &why)) {
			assert_null(why);
			assert_true(n >= 0);
			if (n > 0)
				assert_true(part.data >= exact &&
					    part.data + part.len <= exact + len);
		} else {
			assert_non_null(why);
		}
		free(exact);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_content_type), cmocka_unit_test(test_find),
	    cmocka_unit_test(test_malformed),	 cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
