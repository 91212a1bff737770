/* Unit tests of domain/text: phones and emails as customers type them become one key, UTF-8 is
 * checked strictly, and search patterns compile to the cheapest correct storage condition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain/text.h"

static void expect_phone(const char *in, const char *want)
{
	char out[PHONE_MAX_DIGITS + 1];
	memset(out, 'X', sizeof(out));
	if (!phone_normalize(in, out))
		fail_msg("phone \"%s\" rejected, want \"%s\"", in, want);
	assert_string_equal(out, want);
}

static void expect_phone_rejected(const char *in)
{
	char out[PHONE_MAX_DIGITS + 1];
	memset(out, 'X', sizeof(out));
	if (phone_normalize(in, out))
		fail_msg("phone \"%s\" accepted as \"%s\"", in, out);
	assert_string_equal(out, "");
}

static void test_phone_normalize(void **state)
{
	(void)state;
	expect_phone("+7 (912) 345-67-89", "79123456789");
	expect_phone("89123456789", "79123456789");
	expect_phone("8 912 345 67 89", "79123456789");
	expect_phone("79123456789", "79123456789");
	expect_phone("8912", "8912");		  /* short: no trunk-prefix rewrite */
	expect_phone("9123456789", "9123456789"); /* 10 digits stay as they are */
	expect_phone("8123456789", "8123456789");
	expect_phone("891234567890", "891234567890"); /* 12 digits: no rewrite either */
	expect_phone("19123456789", "19123456789");
	expect_phone("1", "1");
	expect_phone("tel:+44 20 7946 0958", "442079460958");
	expect_phone("123456789012345", "123456789012345"); /* exactly 15 */
	expect_phone_rejected("");
	expect_phone_rejected("+() -");
	expect_phone_rejected("phone");
	expect_phone_rejected("1234567890123456"); /* 16 digits */
	expect_phone_rejected("+1 234 567 890 123 456 789");
	char long_phone[1000];
	memset(long_phone, '5', sizeof(long_phone) - 1);
	long_phone[sizeof(long_phone) - 1] = '\0';
	expect_phone_rejected(long_phone);
}

static void test_phone_pattern_clean(void **state)
{
	(void)state;
	char out[PATTERN_MAX + 1];
	assert_true(phone_pattern_clean("+7 (912)%", out));
	assert_string_equal(out, "7912%");
	assert_true(phone_pattern_clean("%45-67%", out));
	assert_string_equal(out, "%4567%");
	assert_true(phone_pattern_clean("%", out));
	assert_string_equal(out, "%");
	assert_true(phone_pattern_clean("8 (912) %", out));
	assert_string_equal(out, "8912%"); /* patterns are not trunk-rewritten */
	assert_true(phone_pattern_clean("a_b\\c%", out));
	assert_string_equal(out, "%");

	char in[PATTERN_MAX * 2 + 1];
	memset(in, '1', PATTERN_MAX);
	in[PATTERN_MAX] = '\0';
	assert_true(phone_pattern_clean(in, out));
	assert_int_equal(strlen(out), PATTERN_MAX);
	/* Longer input is fine while the kept part fits. */
	for (size_t i = 0; i < PATTERN_MAX; i++)
		in[PATTERN_MAX + i] = '-';
	in[2 * PATTERN_MAX] = '\0';
	assert_true(phone_pattern_clean(in, out));
	assert_int_equal(strlen(out), PATTERN_MAX);
	in[PATTERN_MAX] = '%';
	assert_false(phone_pattern_clean(in, out));
	assert_string_equal(out, "");
}

static void expect_email(const char *in, const char *want)
{
	char out[EMAIL_MAX + 1];
	memset(out, 'X', sizeof(out));
	if (!email_normalize(in, out))
		fail_msg("email \"%s\" rejected", in);
	assert_string_equal(out, want);
}

static void expect_email_rejected(const char *in)
{
	char out[EMAIL_MAX + 1];
	memset(out, 'X', sizeof(out));
	if (email_normalize(in, out))
		fail_msg("email \"%s\" accepted as \"%s\"", in, out);
	assert_string_equal(out, "");
}

static void test_email_normalize(void **state)
{
	(void)state;
	expect_email("a@b.c", "a@b.c");
	expect_email("  Ivan.Petrov@Example.COM \t\r\n", "Ivan.Petrov@Example.COM");
	expect_email("\tuser+tag@mail.example.ru", "user+tag@mail.example.ru");
	expect_email("x@sub.domain.org", "x@sub.domain.org");

	expect_email_rejected("");
	expect_email_rejected("   ");
	expect_email_rejected("plainaddress");
	expect_email_rejected("@example.com");
	expect_email_rejected("user@");
	expect_email_rejected("user@localhost");
	expect_email_rejected("user@.example.com");
	expect_email_rejected("user@example.com.");
	expect_email_rejected("user@.");
	expect_email_rejected("a@b@c.d");
	expect_email_rejected("us er@example.com");
	expect_email_rejected("user@exa mple.com");
	expect_email_rejected("user\t@example.com");
	expect_email_rejected("user@example.com\x01");
	expect_email_rejected("user\x7f@example.com");

	/* EMAIL_MAX bytes after trimming is the limit; surrounding whitespace does not count. */
	char in[EMAIL_MAX + 10];
	memset(in, 'a', EMAIL_MAX);
	memcpy(in + EMAIL_MAX - 6, "@b.com", 6);
	in[EMAIL_MAX] = '\0';
	char want[EMAIL_MAX + 1];
	memcpy(want, in, EMAIL_MAX + 1);
	expect_email(in, want);
	char padded[EMAIL_MAX + 10];
	snprintf(padded, sizeof(padded), "  %s  ", want);
	expect_email(padded, want);
	memset(in, 'a', EMAIL_MAX + 1);
	memcpy(in + EMAIL_MAX + 1 - 6, "@b.com", 6);
	in[EMAIL_MAX + 1] = '\0';
	expect_email_rejected(in);
}

static void test_ascii_lower(void **state)
{
	(void)state;
	char s[] = "Ivan.PETROV@Example.COM 09_Z[@`";
	text_ascii_lower(s);
	assert_string_equal(s, "ivan.petrov@example.com 09_z[@`");
	/* Non-ASCII bytes (here Cyrillic "Ж") stay untouched. */
	char cyr[] = "\xd0\x96Q";
	text_ascii_lower(cyr);
	assert_string_equal(cyr, "\xd0\x96q");
	char empty[] = "";
	text_ascii_lower(empty);
	assert_string_equal(empty, "");
}

static bool utf8_ok(const char *s)
{
	return text_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(text_utf8_valid("", 0));
	assert_true(utf8_ok("plain ascii"));
	assert_true(utf8_ok("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82")); /* Привет */
	assert_true(utf8_ok("\xc2\x80"));					  /* U+0080 */
	assert_true(utf8_ok("\xdf\xbf"));					  /* U+07FF */
	assert_true(utf8_ok("\xe0\xa0\x80"));					  /* U+0800 */
	assert_true(utf8_ok("\xed\x9f\xbf"));					  /* U+D7FF */
	assert_true(utf8_ok("\xee\x80\x80"));					  /* U+E000 */
	assert_true(utf8_ok("\xef\xbf\xbf"));					  /* U+FFFF */
	assert_true(utf8_ok("\xf0\x90\x80\x80"));				  /* U+10000 */
	assert_true(utf8_ok("\xf0\x9f\x92\xb0"));				  /* money bag */
	assert_true(utf8_ok("\xf4\x8f\xbf\xbf"));				  /* U+10FFFF */

	assert_false(utf8_ok("\x80")); /* lone continuation */
	assert_false(utf8_ok("a\xbf"
			     "b"));			   /* continuation in the middle */
	assert_false(utf8_ok("\xc0\x80"));		   /* overlong NUL */
	assert_false(utf8_ok("\xc1\xbf"));		   /* overlong 2-byte */
	assert_false(utf8_ok("\xe0\x80\x80"));		   /* overlong 3-byte */
	assert_false(utf8_ok("\xe0\x9f\xbf"));		   /* overlong U+07FF */
	assert_false(utf8_ok("\xf0\x80\x80\x80"));	   /* overlong 4-byte */
	assert_false(utf8_ok("\xf0\x8f\xbf\xbf"));	   /* overlong U+FFFF */
	assert_false(utf8_ok("\xed\xa0\x80"));		   /* U+D800 */
	assert_false(utf8_ok("\xed\xbf\xbf"));		   /* U+DFFF */
	assert_false(utf8_ok("\xed\xa0\xbd\xed\xb2\xb0")); /* CESU surrogate pair */
	assert_false(utf8_ok("\xf4\x90\x80\x80"));	   /* U+110000 */
	assert_false(utf8_ok("\xf5\x80\x80\x80"));
	assert_false(utf8_ok("\xf8\x88\x80\x80\x80")); /* 5-byte form */
	assert_false(utf8_ok("\xfe"));
	assert_false(utf8_ok("\xff"));
	assert_false(utf8_ok("\xd0"));	       /* truncated 2-byte */
	assert_false(utf8_ok("\xe2\x82"));     /* truncated 3-byte */
	assert_false(utf8_ok("\xf0\x9f\x92")); /* truncated 4-byte */
	assert_false(utf8_ok("\xd0"
			     "a")); /* bad continuation */
	assert_false(utf8_ok("\xe2\x28\xa1"));

	/* Embedded NUL before len is rejected; len bounds what is read. */
	assert_false(text_utf8_valid("ab\0cd", 5));
	assert_false(text_utf8_valid("\0", 1));
	assert_true(text_utf8_valid("ab\0cd", 2));
	/* A sequence cut by len is truncated even when bytes follow in memory. */
	assert_false(text_utf8_valid("\xd0\x9f", 1));
	assert_false(text_utf8_valid("\xf0\x9f\x92\xb0", 3));
	assert_true(text_utf8_valid("\xf0\x9f\x92\xb0", 4));
}

static void test_utf8_length(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_length(""), 0);
	assert_int_equal(text_utf8_length("abc"), 3);
	assert_int_equal(text_utf8_length("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"), 6);
	assert_int_equal(text_utf8_length("a\xe2\x82\xac"
					  "b"),
			 3); /* a€b */
	assert_int_equal(text_utf8_length("\xf0\x9f\x92\xb0\xf4\x8f\xbf\xbf"), 2);
}

static void expect_pattern(const char *in, enum pattern_kind kind, const char *text,
			   const char *upper)
{
	struct pattern p;
	memset(&p, 'X', sizeof(p));
	if (!pattern_compile(in, &p))
		fail_msg("pattern \"%s\" rejected", in);
	if (p.kind != kind)
		fail_msg("pattern \"%s\": kind %d, want %d", in, p.kind, kind);
	assert_string_equal(p.text, text);
	if (kind == PATTERN_PREFIX)
		assert_string_equal(p.upper, upper);
}

static void test_pattern_exact(void **state)
{
	(void)state;
	expect_pattern("79123456789", PATTERN_EXACT, "79123456789", NULL);
	expect_pattern("a_b\\c@x.ru", PATTERN_EXACT, "a_b\\c@x.ru", NULL); /* no escaping */
	expect_pattern("", PATTERN_EXACT, "", NULL);
}

static void test_pattern_all(void **state)
{
	(void)state;
	expect_pattern("%", PATTERN_ALL, "", NULL);
	expect_pattern("%%%%", PATTERN_ALL, "", NULL);
}

static void test_pattern_prefix(void **state)
{
	(void)state;
	expect_pattern("7912%", PATTERN_PREFIX, "7912", "7913");
	expect_pattern("7919%%%", PATTERN_PREFIX, "7919", "791:"); /* '9' + 1 == ':' */
	expect_pattern("ivan%", PATTERN_PREFIX, "ivan", "ivao");
	expect_pattern("a_b%", PATTERN_PREFIX, "a_b", "a_c"); /* '_' literal, range unescaped */
	expect_pattern("a\\%", PATTERN_PREFIX, "a\\", "a]");
	expect_pattern("az%", PATTERN_PREFIX, "az", "a{");
	/* Trailing 0xFF bytes are dropped before the increment. */
	expect_pattern("ab\xff\xff%", PATTERN_PREFIX, "ab\xff\xff", "ac");
	expect_pattern("a\xfe%", PATTERN_PREFIX, "a\xfe", "a\xff");
	expect_pattern("\xd0\x96%", PATTERN_PREFIX, "\xd0\x96", "\xd0\x97");
}

static void test_pattern_like(void **state)
{
	(void)state;
	expect_pattern("%4567", PATTERN_LIKE, "%4567", NULL);
	expect_pattern("%4567%", PATTERN_LIKE, "%4567%", NULL);
	expect_pattern("79%67", PATTERN_LIKE, "79%67", NULL);
	expect_pattern("a%b%c", PATTERN_LIKE, "a%b%c", NULL);
	expect_pattern("%%45%%%67%%", PATTERN_LIKE, "%45%67%", NULL); /* runs collapsed */
	expect_pattern("%a_b", PATTERN_LIKE, "%a\\_b", NULL);
	expect_pattern("%a\\b", PATTERN_LIKE, "%a\\\\b", NULL);
	expect_pattern("_%", PATTERN_PREFIX, "_", "`");
	expect_pattern("%_", PATTERN_LIKE, "%\\_", NULL);
	expect_pattern("%\\", PATTERN_LIKE, "%\\\\", NULL);
	expect_pattern("\\%%\\_", PATTERN_LIKE, "\\\\%\\\\\\_", NULL);
	expect_pattern("__%__", PATTERN_LIKE, "\\_\\_%\\_\\_", NULL);
	/* A prefix of only 0xFF bytes has no upper bound: it falls back to LIKE. */
	expect_pattern("\xff%", PATTERN_LIKE, "\xff%", NULL);
}

static void test_pattern_limits(void **state)
{
	(void)state;
	struct pattern p;
	char in[PATTERN_MAX + 2];

	/* The longest pattern, every byte escaped: text must hold twice its length. */
	memset(in, '_', PATTERN_MAX);
	in[0] = '%';
	in[PATTERN_MAX] = '\0';
	assert_true(pattern_compile(in, &p));
	assert_int_equal(p.kind, PATTERN_LIKE);
	assert_int_equal(strlen(p.text), 1 + 2 * (PATTERN_MAX - 1));

	memset(in, '1', PATTERN_MAX);
	in[PATTERN_MAX - 1] = '%';
	in[PATTERN_MAX] = '\0';
	assert_true(pattern_compile(in, &p));
	assert_int_equal(p.kind, PATTERN_PREFIX);
	assert_int_equal(strlen(p.text), PATTERN_MAX - 1);
	assert_int_equal(strlen(p.upper), PATTERN_MAX - 1);

	memset(in, '1', PATTERN_MAX + 1);
	in[PATTERN_MAX + 1] = '\0';
	assert_false(pattern_compile(in, &p));
	in[0] = '%';
	assert_false(pattern_compile(in, &p));
}

/* The trigrams of a pattern's literal runs: what the phone trigram index may narrow by. */
static void test_pattern_trigrams(void **state)
{
	(void)state;
	struct pattern p;
	char tri[PATTERN_TRIGRAMS_MAX][4];
	assert_true(pattern_compile("%4567%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 2);
	assert_string_equal(tri[0], "456");
	assert_string_equal(tri[1], "567");
	/* runs split at every %; a run shorter than 3 gives none */
	assert_true(pattern_compile("%123%45%678", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 2);
	assert_string_equal(tri[0], "123");
	assert_string_equal(tri[1], "678");
	assert_true(pattern_compile("%12%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 0);
	assert_true(pattern_compile("%1%2%3%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 0);
	/* distinct only; escapes undone (_ and \ are literal characters) */
	assert_true(pattern_compile("%1111%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 1);
	assert_string_equal(tri[0], "111");
	assert_true(pattern_compile("%a_\\b%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 2);
	assert_string_equal(tri[0], "a_\\");
	assert_string_equal(tri[1], "_\\b");
	/* at most max */
	assert_true(pattern_compile("%79123456789%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, 3), 3);
	assert_string_equal(tri[2], "123");
	/* other kinds have no trigrams: they use their own index */
	assert_true(pattern_compile("7912%", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 0);
	assert_true(pattern_compile("79123", &p));
	assert_int_equal(pattern_trigrams(&p, tri, PATTERN_TRIGRAMS_MAX), 0);
}

static void test_http_url(void **state)
{
	(void)state;
	const char *good[] = {"http://example.com",	      "https://example.com/",
			      "HTTPS://Example.com/a?b=c#d",  "https://instagram.com/my.cafe",
			      "http://127.0.0.1:8080/x",      "https://[::1]/",
			      "https://[2001:db8::1]:443/p",  "https://пример.рф/путь",
			      "https://vk.com/club1?w=a%20b", "http://a"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (!text_http_url(good[i]))
			fail_msg("refused %s", good[i]);
	const char *bad[] = {"javascript:alert(1)",
			     "JavaScript:alert(1)",
			     " javascript:alert(1)",
			     "data:text/html,<b>",
			     "file:///etc/passwd",
			     "//example.com",
			     "/relative",
			     "example.com",
			     "http:/example.com",
			     "http://",
			     "https:///path",
			     "http://bank.com@evil.com/",
			     "http://user:pw@host/",
			     "http://host:80a/",
			     "http://:80/",
			     "https://[::1",
			     "https://[]/",
			     "https://[::1]x/",
			     "http://exa mple.com",
			     "http://example.com/\n",
			     "http://e.com/\"onclick",
			     "http://e.com/<script>",
			     "http://e.com\\@evil",
			     "ftp://example.com",
			     "",
			     "http://e.com/`"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (text_http_url(bad[i]))
			fail_msg("accepted %s", bad[i]);
	assert_false(text_http_url(NULL));
}

/* Every number of a JSON text once, in order, and nothing inside its strings. */
static void test_json_next_number(void **state)
{
	(void)state;
	const char *t = "{\"a\\\"1\":-1.5e3,\"b\":[0,\"2\",3E-2],\"c\":\"x\\\\\",\"d\":7}";
	const char *want[] = {"-1.5e3", "0", "3E-2", "7"};
	size_t pos = 0, start, end, n = 0;
	while (text_json_next_number(t, strlen(t), &pos, &start, &end)) {
		assert_true(n < 4);
		assert_int_equal(end - start, strlen(want[n]));
		assert_memory_equal(t + start, want[n], end - start);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(pos, strlen(t));
	/* a NUL inside the text does not end it; a number at the very end is whole */
	const char nul[] = {'[', '1', ',', '\0', '2', '5'};
	pos = 0;
	assert_true(text_json_next_number(nul, sizeof(nul), &pos, &start, &end));
	assert_int_equal(start, 1);
	assert_true(text_json_next_number(nul, sizeof(nul), &pos, &start, &end));
	assert_int_equal(start, 4);
	assert_int_equal(end, 6);
	assert_false(text_json_next_number(nul, sizeof(nul), &pos, &start, &end));
	/* an unterminated string hides what follows; an escape at the very end stops in bounds */
	pos = 0;
	assert_false(text_json_next_number("\"12", 3, &pos, &start, &end));
	pos = 0;
	assert_false(text_json_next_number("\"\\", 2, &pos, &start, &end));
	assert_true(text_json_number_char('e') && text_json_number_char('+'));
	assert_false(text_json_number_char('x') || text_json_number_char(' '));
}

/* 2024-03-15T12:00:00Z, the "now" of the birthday checks. */
#define BIRTHDAY_NOW_MS 1710504000000LL

static void expect_birthday(const char *in, enum birthday_form form, const char *want)
{
	char out[TEXT_BIRTHDAY_BYTES] = "x";
	bool ok = text_birthday_parse(in, form, BIRTHDAY_NOW_MS, out);
	if (want) {
		assert_true(ok);
		assert_string_equal(out, want);
	} else {
		assert_false(ok);
		assert_string_equal(out, "");
	}
}

static void test_birthday_parse(void **state)
{
	(void)state;
	for (int f = BIRTHDAY_ISO; f <= BIRTHDAY_ISO_OR_TYPED; f++) {
		enum birthday_form form = (enum birthday_form)f;
		expect_birthday("1990-02-28", form, "1990-02-28");
		expect_birthday("2000-02-29", form, "2000-02-29"); /* a leap year by 400 */
		expect_birthday("1900-01-01", form, "1900-01-01");
		expect_birthday("2024-03-15", form, "2024-03-15"); /* today counts */
		expect_birthday("2024-03-16", form, NULL);	   /* tomorrow does not */
		expect_birthday("2990-01-01", form, NULL);
		expect_birthday("1899-12-31", form, NULL);
		expect_birthday("1900-02-29", form, NULL); /* not a leap year by 100 */
		expect_birthday("1991-02-29", form, NULL);
		expect_birthday("1990-04-31", form, NULL);
		expect_birthday("1990-13-01", form, NULL);
		expect_birthday("1990-00-10", form, NULL);
		expect_birthday("1990-01-00", form, NULL);
		expect_birthday("", form, NULL);
		expect_birthday("вчера", form, NULL);
		expect_birthday("1990-01-01x", form, NULL);
		expect_birthday("1990-01-01T00:00:00Z", form, NULL);
	}
	/* the API takes exactly YYYY-MM-DD */
	expect_birthday("15.03.1990", BIRTHDAY_ISO, NULL);
	expect_birthday("1990-1-5", BIRTHDAY_ISO, NULL);
	expect_birthday(" 1990-01-05", BIRTHDAY_ISO, NULL);
	expect_birthday("+990-01-05", BIRTHDAY_ISO, NULL);
	expect_birthday("19900105", BIRTHDAY_ISO, NULL);
	/* the join page also takes a date as people type it */
	expect_birthday("15.03.1990", BIRTHDAY_ISO_OR_TYPED, "1990-03-15");
	expect_birthday("3.4.1985", BIRTHDAY_ISO_OR_TYPED, "1985-04-03");
	expect_birthday("1990-1-5", BIRTHDAY_ISO_OR_TYPED, "1990-01-05");
	expect_birthday("31.02.2000", BIRTHDAY_ISO_OR_TYPED, NULL);
	expect_birthday("16.03.2024", BIRTHDAY_ISO_OR_TYPED, NULL);
	expect_birthday("15.03.1990.", BIRTHDAY_ISO_OR_TYPED, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phone_normalize), cmocka_unit_test(test_phone_pattern_clean),
	    cmocka_unit_test(test_email_normalize), cmocka_unit_test(test_ascii_lower),
	    cmocka_unit_test(test_utf8_valid),	    cmocka_unit_test(test_utf8_length),
	    cmocka_unit_test(test_pattern_exact),   cmocka_unit_test(test_pattern_all),
	    cmocka_unit_test(test_pattern_prefix),  cmocka_unit_test(test_pattern_like),
	    cmocka_unit_test(test_pattern_limits),  cmocka_unit_test(test_pattern_trigrams),
	    cmocka_unit_test(test_http_url),	    cmocka_unit_test(test_json_next_number),
	    cmocka_unit_test(test_birthday_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
