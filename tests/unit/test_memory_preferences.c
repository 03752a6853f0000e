/* Preference extraction from image facts: mood -> preferred_mood, dominant colour families ->
 * preferred_colors, canonical values so equal evidence compares equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "memory_preferences.h"

static void test_color_families(void **state) {
    (void)state;
    assert_string_equal(memory_color_family("#ff0000"), "red");
    assert_string_equal(memory_color_family("#FF8000"), "orange");
    assert_string_equal(memory_color_family("#ffff00"), "yellow");
    assert_string_equal(memory_color_family("#00c000"), "green");
    assert_string_equal(memory_color_family("#00b3b3"), "teal");
    assert_string_equal(memory_color_family("#1f3a93"), "blue");
    assert_string_equal(memory_color_family("#8000ff"), "purple");
    assert_string_equal(memory_color_family("#ff69b4"), "pink");
    assert_string_equal(memory_color_family("#8b4513"), "brown");
    assert_string_equal(memory_color_family("#050505"), "black");
    assert_string_equal(memory_color_family("#fafafa"), "white");
    assert_string_equal(memory_color_family("#808080"), "gray");
    assert_null(memory_color_family("#12345"));
    assert_null(memory_color_family("123456"));
    assert_null(memory_color_family("#12345g"));
    assert_null(memory_color_family(NULL));
}

static void test_mood_and_colors(void **state) {
    (void)state;
    memory_palette_entry p[] = {{"#1f3a93", 0.40}, {"#f39c12", 0.25}, {"#2040a0", 0.10}, {"#ffffff", 0.05}};
    memory_pref out[2];
    size_t n = memory_preferences_extract("calm", p, 4, 0.2, out);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].key, "preferred_mood");
    assert_string_equal(out[0].value, "{\"mood\":\"calm\"}");
    assert_float_equal(out[0].weight, 0.2, 1e-12);
    assert_string_equal(out[1].key, "preferred_colors");
    /* blue 0.50 and orange 0.25 qualify; white 0.05 does not; alphabetical order */
    assert_string_equal(out[1].value, "{\"colors\":[\"blue\",\"orange\"]}");
}

static void test_same_families_same_value_whatever_the_order(void **state) {
    (void)state;
    memory_palette_entry a[] = {{"#1f3a93", 0.6}, {"#f39c12", 0.3}};
    memory_palette_entry b[] = {{"#e67e22", 0.7}, {"#2c3e99", 0.2}};
    memory_pref x[2], y[2];
    assert_int_equal(memory_preferences_extract(NULL, a, 2, 0.2, x), 1);
    assert_int_equal(memory_preferences_extract("", b, 2, 0.2, y), 1);
    assert_string_equal(x[0].value, y[0].value);
}

static void test_at_most_three_families(void **state) {
    (void)state;
    memory_palette_entry p[] = {{"#ff0000", 0.2}, {"#00c000", 0.2}, {"#1f3a93", 0.2}, {"#ffff00", 0.2},
                                {"#8000ff", 0.2}};
    memory_pref out[2];
    assert_int_equal(memory_preferences_extract(NULL, p, 5, 0.2, out), 1);
    /* ties broken by name: blue, green, purple */
    assert_string_equal(out[0].value, "{\"colors\":[\"blue\",\"green\",\"purple\"]}");
}

static void test_nothing_dominant_or_malformed(void **state) {
    (void)state;
    memory_palette_entry p[] = {{"#ff0000", 0.1}, {"#00c000", 0.1}, {"bad", 0.9}, {"#1f3a93", -1}};
    memory_pref out[2];
    assert_int_equal(memory_preferences_extract(NULL, p, 4, 0.2, out), 0);
    assert_int_equal(memory_preferences_extract(NULL, NULL, 0, 0.2, out), 0);
}

static void test_mood_is_json_escaped(void **state) {
    (void)state;
    memory_pref out[2];
    assert_int_equal(memory_preferences_extract("say \"hi\"\n", NULL, 0, 0.2, out), 1);
    assert_string_equal(out[0].value, "{\"mood\":\"say \\\"hi\\\"\\n\"}");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_color_families),
        cmocka_unit_test(test_mood_and_colors),
        cmocka_unit_test(test_same_families_same_value_whatever_the_order),
        cmocka_unit_test(test_at_most_three_families),
        cmocka_unit_test(test_nothing_dominant_or_malformed),
        cmocka_unit_test(test_mood_is_json_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
