/* The rule-based decider's documented rules (brain_rules.h), one case each, plus the explicit
 * preference extractor and the message id derivation of memoryUpdates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "brain_memory.h"
#include "brain_rules.h"

typedef struct {
    const char *prompt;
    size_t n_images;
    const char *scene;
    brain_tool expect;
} rule_case;

static const rule_case cases[] = {
    {"", 0, NULL, BRAIN_TOOL_CLARIFY},
    {"  ?! ", 0, "s1", BRAIN_TOOL_CLARIFY},
    {"Delete this scene", 0, "s1", BRAIN_TOOL_DELETE_SCENE},
    {"remove it", 0, NULL, BRAIN_TOOL_CLARIFY},
    {"The scene is broken", 0, "s1", BRAIN_TOOL_FIX_BROKEN_SCENE},
    {"fix it", 0, NULL, BRAIN_TOOL_CLARIFY},
    {"Make it longer", 0, "s1", BRAIN_TOOL_CHANGE_DURATION},
    {"3 seconds please", 0, NULL, BRAIN_TOOL_CLARIFY},
    {"Describe this image", 1, NULL, BRAIN_TOOL_ANALYZE_IMAGE},
    {"Make a scene like this", 2, NULL, BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE},
    {"Make it look like this", 1, "s2", BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE},
    {"Make the title bigger", 0, "s2", BRAIN_TOOL_EDIT_SCENE},
    {"Add an outro with our logo", 0, NULL, BRAIN_TOOL_ADD_SCENE},
    {"prefixed words like undelete or fixture do not match", 0, "s1", BRAIN_TOOL_EDIT_SCENE},
};

static void test_rules(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        brain_rules_input in = {cases[i].prompt, cases[i].n_images, cases[i].scene};
        brain_answer a;
        assert_int_equal(brain_rules_decide(&in, &a), 0);
        if (a.tool != cases[i].expect)
            fail_msg("\"%s\": got %s, expected %s", cases[i].prompt, brain_tool_name(a.tool),
                     brain_tool_name(cases[i].expect));
        assert_non_null(a.summary);
        if (a.tool == BRAIN_TOOL_CLARIFY) assert_non_null(a.question);
        if (brain_tool_needs_scene(a.tool)) assert_string_equal(a.target_scene, cases[i].scene);
        brain_answer_clear(&a);
    }
}

static void test_duration_params(void **state) {
    (void)state;
    brain_rules_input in = {"make it 2.5 seconds", 0, "s1"};
    brain_answer a;
    assert_int_equal(brain_rules_decide(&in, &a), 0);
    assert_int_equal((int)cJSON_GetObjectItem(a.params, "duration_ms")->valuedouble, 2500);
    brain_answer_clear(&a);
    in.prompt = "a bit shorter";
    assert_int_equal(brain_rules_decide(&in, &a), 0);
    assert_int_equal((int)cJSON_GetObjectItem(a.params, "delta_ms")->valuedouble, -2000);
    assert_string_equal(cJSON_GetObjectItem(a.params, "instruction")->valuestring, "a bit shorter");
    brain_answer_clear(&a);
}

static void test_stated_preferences(void **state) {
    (void)state;
    brain_stated_pref p[4];
    size_t n = brain_memory_stated_preferences("Add a scene. I prefer dark colours! Always use Inter for titles.\n"
                                               "Never use Comic Sans; nice", p, 4);
    assert_int_equal(n, 3);
    assert_string_equal(p[0].key, "stated:dark colours");
    assert_string_equal(p[0].polarity, "prefer");
    assert_string_equal(p[0].statement, "I prefer dark colours");
    assert_string_equal(p[1].key, "stated:inter for titles");
    assert_string_equal(p[2].key, "stated:comic sans");
    assert_string_equal(p[2].polarity, "avoid");
    assert_int_equal(brain_memory_stated_preferences("Make it pop", p, 4), 0);
    assert_int_equal(brain_memory_stated_preferences("I prefer", p, 4), 0);
}

static void test_assistant_id(void **state) {
    (void)state;
    char out[40];
    brain_memory_assistant_id("00000000-0000-4000-8000-00000000000f", out);
    assert_string_equal(out, "00000000-0000-4000-8000-00000000000e");
    brain_memory_assistant_id("00000000-0000-4000-8000-000000000008", out);
    assert_string_equal(out, "00000000-0000-4000-8000-000000000009");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_duration_params),
        cmocka_unit_test(test_stated_preferences),
        cmocka_unit_test(test_assistant_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
