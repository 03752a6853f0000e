/* Doubles and integers as text, without printf where a cheaper exact way exists.
 *
 * Why: the memory-writer prints about a dozen numbers per message (palette shares, brightness ...,
 * into its output message and into its SQL parameters), and glibc's %g/%.17g (multi-precision
 * arithmetic, plus cJSON's sscanf check) was a tenth of its loop thread. Most of these values are
 * short decimals (0.6, 0.4375), for which the text can be derived from one integer division that
 * is checked to give the double back exactly; the rest fall back to the printf forms. */
#ifndef BF_NUMBER_TEXT_H
#define BF_NUMBER_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any text below, NUL included ("-2.2250738585072014e-308" is 24 bytes). */
#define BF_NUMBER_TEXT_MAX 32

/* The bytes cJSON_PrintUnformatted writes for a number (its print_number: "%1.15g" when that
 * reads back within DBL_EPSILON, else "%1.17g"; "null" for NaN and infinities), so an encoder
 * that writes JSON itself stays byte-identical with one that prints a cJSON tree. Returns the
 * length. */
size_t bf_number_json(double d, char out[BF_NUMBER_TEXT_MAX]);

/* A text strtod (and PostgreSQL's float8) reads back as exactly d: the short decimal when there
 * is one, else "%.17g". d must be finite. Returns the length. */
size_t bf_number_exact(double d, char out[BF_NUMBER_TEXT_MAX]);

/* Decimal digits of v, as "%lld" would write them. Returns the length. */
size_t bf_number_int(int64_t v, char out[BF_NUMBER_TEXT_MAX]);

#endif
