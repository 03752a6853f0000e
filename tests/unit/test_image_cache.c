/* The analysis cache stays within its bounds, expires entries and evicts the least recently used;
 * a URL's entry (validators and facts) reads back as written, and anything else is not one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "image_cache.h"
#include "image_url_entry.h"

static void test_hit_miss_and_ttl(void **state) {
    (void)state;
    image_cache *c = image_cache_new(10, 1000, 600000);
    size_t len = 0;
    assert_null(image_cache_get(c, "a", &len, 0));
    assert_int_equal(image_cache_put(c, "a", "hello", 5, 0), 0);
    const char *v = image_cache_get(c, "a", &len, 599999);
    assert_non_null(v);
    assert_int_equal(len, 5);
    assert_memory_equal(v, "hello", 5);
    assert_null(image_cache_get(c, "a", &len, 600000)); /* expired */
    image_cache_stats st = image_cache_stats_get(c);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.entries, 0);
    image_cache_free(c);
}

static void test_entry_bound_evicts_lru(void **state) {
    (void)state;
    image_cache *c = image_cache_new(3, 1000, 1000000);
    size_t len;
    image_cache_put(c, "a", "1", 1, 0);
    image_cache_put(c, "b", "2", 1, 0);
    image_cache_put(c, "c", "3", 1, 0);
    assert_non_null(image_cache_get(c, "a", &len, 1)); /* a is now most recent; b is oldest */
    image_cache_put(c, "d", "4", 1, 2);
    assert_null(image_cache_get(c, "b", &len, 3));
    assert_non_null(image_cache_get(c, "a", &len, 3));
    assert_non_null(image_cache_get(c, "c", &len, 3));
    assert_non_null(image_cache_get(c, "d", &len, 3));
    assert_int_equal(image_cache_stats_get(c).entries, 3);
    assert_int_equal(image_cache_stats_get(c).evictions, 1);
    image_cache_free(c);
}

static void test_byte_bound(void **state) {
    (void)state;
    image_cache *c = image_cache_new(100, 10, 1000000);
    char big[11] = "0123456789";
    assert_int_equal(image_cache_put(c, "too-big", big, 11, 0), -1);
    image_cache_put(c, "x", big, 6, 0);
    image_cache_put(c, "y", big, 6, 0); /* 12 > 10: x goes */
    size_t len;
    assert_null(image_cache_get(c, "x", &len, 0));
    assert_non_null(image_cache_get(c, "y", &len, 0));
    assert_true(image_cache_stats_get(c).bytes <= 10);
    image_cache_put(c, "y", "ab", 2, 0); /* replace keeps the accounting right */
    assert_int_equal(image_cache_stats_get(c).bytes, 2);
    assert_int_equal(image_cache_stats_get(c).entries, 1);
    image_cache_free(c);
}

static void test_many_keys(void **state) {
    (void)state;
    image_cache *c = image_cache_new(500, 1 << 20, 1000000);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        image_cache_put(c, key, key, strlen(key), i);
    }
    assert_int_equal(image_cache_stats_get(c).entries, 500);
    size_t len;
    assert_non_null(image_cache_get(c, "k4999", &len, 5000));
    assert_null(image_cache_get(c, "k4499", &len, 5000));
    image_cache_free(c);
}

static void test_url_entry(void **state) {
    (void)state;
    size_t len;
    char *v = image_url_entry_new("\"v1\"", NULL, "{\"mood\":\"calm\"}", &len);
    assert_non_null(v);
    const char *etag, *lm, *facts;
    assert_int_equal(image_url_entry_split(v, len, &etag, &lm, &facts), 0);
    assert_string_equal(etag, "\"v1\"");
    assert_string_equal(lm, "");
    assert_string_equal(facts, "{\"mood\":\"calm\"}");
    /* Cut anywhere, or with bytes after the facts: not an entry. */
    for (size_t cut = 0; cut < len; cut++) assert_int_equal(image_url_entry_split(v, cut, &etag, &lm, &facts), -1);
    char *longer = malloc(len + 1);
    memcpy(longer, v, len);
    longer[len] = 'x';
    assert_int_equal(image_url_entry_split(longer, len + 1, &etag, &lm, &facts), -1);
    free(longer);
    free(v);
    /* A cached hash entry (facts alone) is not a URL entry either. */
    assert_int_equal(image_url_entry_split("{}", 3, &etag, &lm, &facts), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_and_ttl), cmocka_unit_test(test_entry_bound_evicts_lru),
        cmocka_unit_test(test_url_entry),
        cmocka_unit_test(test_byte_bound), cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
