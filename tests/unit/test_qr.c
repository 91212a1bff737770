/* Unit tests of domain/qr: the SVG draws exactly the modules libqrencode encodes (read back
 * from its path), inside the quiet zone, with its attributes escaped; and the fiscal receipt's
 * QR text has the tax service's shape, refusing what is not digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/qr.h"

/* Reads the rectangles "Mx yhRv1h-Rz" of the svg's path into a side x side grid of 0/1. */
static void read_path(const char *svg, int side, unsigned char *grid)
{
	const char *p = strstr(svg, "<path d=\"");
	assert_non_null(p);
	p += strlen("<path d=\"");
	memset(grid, 0, (size_t)side * side);
	while (*p == 'M') {
		int x, y, run, back, used;
		assert_int_equal(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &back, &used), 4);
		assert_int_equal(run, back);
		assert_true(run >= 1 && x >= 0 && y >= 0 && x + run <= side && y < side);
		for (int i = 0; i < run; i++) {
			assert_int_equal(grid[y * side + x + i], 0); /* no module drawn twice */
			grid[y * side + x + i] = 1;
		}
		p += used;
	}
	assert_int_equal(*p, '"');
}

static void test_svg_matches_symbol(void **state)
{
	(void)state;
	const char *texts[] = {"0123456789abcdef0123456789abcdef",
			       "t=20260105T1230&s=450.00&fn=1&i=2&fp=3&n=1", "x"};
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		int width = 0;
		char *svg = qr_svg(texts[t], "qr", "code", &width);
		assert_non_null(svg);
		QRcode *want = QRcode_encodeString8bit(texts[t], 0, QR_ECLEVEL_M);
		assert_non_null(want);
		assert_int_equal(width, want->width);
		int side = width + 2 * QR_QUIET_ZONE;
		char view[64];
		snprintf(view, sizeof(view), "viewBox=\"0 0 %d %d\"", side, side);
		assert_non_null(strstr(svg, view));
		assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
		assert_non_null(strstr(svg, "class=\"qr\""));
		assert_null(strstr(svg, "style"));
		unsigned char *grid = malloc((size_t)side * side);
		read_path(svg, side, grid);
		for (int y = 0; y < side; y++)
			for (int x = 0; x < side; x++) {
				bool inside = x >= QR_QUIET_ZONE && y >= QR_QUIET_ZONE &&
					      x < QR_QUIET_ZONE + width &&
					      y < QR_QUIET_ZONE + width;
				int dark = inside ? want->data[(y - QR_QUIET_ZONE) * width +
							       (x - QR_QUIET_ZONE)] &
							1
						  : 0;
				assert_int_equal(grid[y * side + x], dark);
			}
		free(grid);
		QRcode_free(want);
		free(svg);
	}
}

static void test_svg_escapes_and_refuses(void **state)
{
	(void)state;
	char *svg = qr_svg("abc", "a\"b", "<Карта & код>", NULL);
	assert_non_null(svg);
	assert_non_null(strstr(svg, "class=\"a&quot;b\""));
	assert_non_null(strstr(svg, "aria-label=\"&lt;Карта &amp; код&gt;\""));
	free(svg);
	svg = qr_svg("abc", NULL, NULL, NULL);
	assert_non_null(svg);
	assert_null(strstr(svg, "class="));
	assert_null(strstr(svg, "aria-label"));
	free(svg);
	assert_null(qr_svg("", NULL, NULL, NULL));
	assert_null(qr_svg(NULL, NULL, NULL, NULL));
	/* More bytes than the largest symbol holds at level M (2331). */
	char *big = malloc(3001);
	memset(big, 'a', 3000);
	big[3000] = '\0';
	assert_null(qr_svg(big, NULL, NULL, NULL));
	free(big);
}

static void test_fiscal_text(void **state)
{
	(void)state;
	char out[QR_FISCAL_MAX];
	assert_true(qr_fiscal_text(out, sizeof(out), "20260105T0930", 45000, "9960440300123456",
				   "40211", "2817401935", false));
	assert_string_equal(out, "t=20260105T0930&s=450.00&fn=9960440300123456&i=40211&fp="
				 "2817401935&n=1");
	assert_true(qr_fiscal_text(out, sizeof(out), "20261231T2359", 7, "1", "2", "3", true));
	assert_string_equal(out, "t=20261231T2359&s=0.07&fn=1&i=2&fp=3&n=2");
	assert_true(
	    qr_fiscal_text(out, sizeof(out), "20261231T2359", 123405, "1", "2", "3", false));
	assert_string_equal(out, "t=20261231T2359&s=1234.05&fn=1&i=2&fp=3&n=1");
	/* Not digits, empty, too long, a bad time, a negative total, too small a buffer. */
	assert_false(qr_fiscal_text(out, sizeof(out), "20260105T0930", 1, "12a", "2", "3", false));
	assert_string_equal(out, "");
	assert_false(qr_fiscal_text(out, sizeof(out), "20260105T0930", 1, "1", "", "3", false));
	assert_false(qr_fiscal_text(out, sizeof(out), "20260105T0930", 1, "1", "2", NULL, false));
	assert_false(
	    qr_fiscal_text(out, sizeof(out), "20260105T0930", 1, "1", "2", "12345678901", false));
	assert_false(qr_fiscal_text(out, sizeof(out), "20260105T0930", 1, "12345678901234567", "2",
				    "3", false));
	assert_false(qr_fiscal_text(out, sizeof(out), "2026-01-05 09", 1, "1", "2", "3", false));
	assert_false(qr_fiscal_text(out, sizeof(out), "20260105T0930", -1, "1", "2", "3", false));
	assert_false(qr_fiscal_text(out, 20, "20260105T0930", 1, "1", "2", "3", false));
	assert_string_equal(out, "");
	assert_true(qr_digits("0", 1));
	assert_false(qr_digits("00", 1));
	assert_false(qr_digits("-1", 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svg_matches_symbol),
	    cmocka_unit_test(test_svg_escapes_and_refuses),
	    cmocka_unit_test(test_fiscal_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
