#include "bf_number_text.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_PLACES 6
#define SHORT_SCALE 1e6
#define SHORT_SCALE_INT 1000000LL

size_t bf_number_int(int64_t v, char out[BF_NUMBER_TEXT_MAX]) {
    char rev[20];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) out[len++] = '-';
    while (n) out[len++] = rev[--n];
    out[len] = '\0';
    return len;
}

/* d as a decimal with at most six places, for 0 and for 1e-4 <= |d| < 1e9, when the double
 * nearest that decimal is d itself; 0 (nothing written) otherwise.
 * Exact: k and 1e6 are exact doubles, so k / 1e6 is the correctly rounded quotient, which is the
 * double strtod returns for the decimal's text; equal to d means the text reads back as d.
 * The same bytes as %1.15g: in that range the decimal has at most 15 significant digits and d
 * lies within half an ulp of it (1.1e-16 relative), inside half a step of the 15-digit grid
 * (at least 5e-16 relative), so rounding d to 15 digits gives the decimal; %g then drops the
 * trailing zeros and, the exponent being within -4..8, writes no exponent. */
static size_t short_decimal(double d, char out[BF_NUMBER_TEXT_MAX]) {
    size_t len = 0;
    if (signbit(d)) out[len++] = '-';
    if (d == 0) {
        out[len++] = '0';
        out[len] = '\0';
        return len;
    }
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e9)) return 0; /* NaN fails too */
    long long k = llround(a * SHORT_SCALE);
    if ((double)k / SHORT_SCALE != a) return 0;
    len += bf_number_int(k / SHORT_SCALE_INT, out + len);
    long long frac = k % SHORT_SCALE_INT;
    if (frac) {
        char digits[SHORT_PLACES];
        for (int i = SHORT_PLACES - 1; i >= 0; i--, frac /= 10) digits[i] = (char)('0' + frac % 10);
        size_t n = SHORT_PLACES;
        while (digits[n - 1] == '0') n--;
        out[len++] = '.';
        memcpy(out + len, digits, n);
        len += n;
    }
    out[len] = '\0';
    return len;
}

/* cJSON's compare_double: its round-trip test accepts a difference of one epsilon, relative. */
static bool cjson_close(double a, double b) {
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= m * DBL_EPSILON;
}

size_t bf_number_json(double d, char out[BF_NUMBER_TEXT_MAX]) {
    if (isnan(d) || isinf(d)) {
        memcpy(out, "null", 5);
        return 4;
    }
    size_t n = short_decimal(d, out);
    if (n) return n;
    /* The C locale's '.', as cJSON writes it: no worker calls setlocale. */
    int len = snprintf(out, BF_NUMBER_TEXT_MAX, "%1.15g", d);
    char *end;
    double back = strtod(out, &end);
    if (end == out || !cjson_close(back, d)) len = snprintf(out, BF_NUMBER_TEXT_MAX, "%1.17g", d);
    return len > 0 ? (size_t)len : 0;
}

size_t bf_number_exact(double d, char out[BF_NUMBER_TEXT_MAX]) {
    size_t n = short_decimal(d, out);
    if (n) return n;
    int len = snprintf(out, BF_NUMBER_TEXT_MAX, "%.17g", d);
    return len > 0 ? (size_t)len : 0;
}
