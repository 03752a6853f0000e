/* Prompt building: every context section present, and the budget truncation order (oldest
 * conversation, then oldest image analyses, then least confident memory; never the request or the
 * tool list). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_prompt.h"

static char big[2000];

static brain_message msgs[6];
static brain_image_facts imgs[3];
static brain_memory_item prefs[] = {{"preferred_mood", "dark", 0.9}, {"weak_pref", "x", 0.1}};
static brain_scene scenes[] = {{"s1", "Intro", 1, 3000}};

static brain_context make_ctx(void) {
    memset(big, 'z', sizeof big - 1);
    static char names[6][1100], facts[3][1100];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "msg-%d %.1000s", i, big);
        msgs[i] = (brain_message){"user", names[i]};
    }
    for (int i = 0; i < 3; i++) {
        snprintf(facts[i], sizeof facts[i], "{\"n\":\"img-%d\",\"pad\":\"%.1000s\"}", i, big);
        imgs[i] = (brain_image_facts){"t", facts[i], "now"};
    }
    brain_context c = {.preferences = prefs, .n_preferences = 2, .scenes = scenes, .n_scenes = 1,
                       .images = imgs, .n_images = 3, .messages = msgs, .n_messages = 6};
    return c;
}

static void test_no_truncation(void **state) {
    (void)state;
    brain_context c = make_ctx();
    brain_prompt p;
    brain_prompt_input in = {.user_prompt = "REQUEST-TEXT", .ctx = &c, .token_budget = 120000};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_false(p.truncated);
    assert_int_equal(p.tokens, brain_tokens_estimate(strlen(p.system) + strlen(p.user)));
    assert_non_null(strstr(p.user, "msg-0"));
    assert_non_null(strstr(p.user, "img-2"));
    assert_non_null(strstr(p.system, "changeDuration"));
    brain_prompt_clear(&p);
}

static void test_truncation_order(void **state) {
    (void)state;
    brain_context c = make_ctx();
    brain_prompt full;
    brain_prompt_input in = {.user_prompt = "REQUEST-TEXT", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &full), 0);
    /* Budget that forces dropping about two messages (each ~260 tokens). */
    in.token_budget = full.tokens - 400;
    brain_prompt p;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.truncated);
    assert_int_equal(p.dropped_messages, 2);
    assert_int_equal(p.dropped_images, 0);
    assert_true(p.tokens <= in.token_budget);
    assert_null(strstr(p.user, "msg-0"));
    assert_null(strstr(p.user, "msg-1"));
    assert_non_null(strstr(p.user, "msg-2"));
    brain_prompt_clear(&p);

    /* All messages gone, then the oldest image (last in newest-first order). */
    in.token_budget = full.tokens - 6 * 260 - 100;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_int_equal(p.dropped_messages, 6);
    assert_int_equal(p.dropped_images, 1);
    assert_null(strstr(p.user, "img-2"));
    assert_non_null(strstr(p.user, "img-0"));
    brain_prompt_clear(&p);

    /* Tiny budget: everything droppable is dropped; request, storyboard and tools stay. */
    in.token_budget = 256;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.over_budget);
    assert_int_equal(p.dropped_images, 3);
    assert_int_equal(p.dropped_memory, 2);
    assert_non_null(strstr(p.user, "REQUEST-TEXT"));
    assert_non_null(strstr(p.user, "id=s1"));
    assert_non_null(strstr(p.system, "addScene"));
    brain_prompt_clear(&p);
    brain_prompt_clear(&full);
}

static void test_memory_drops_least_confident_first(void **state) {
    (void)state;
    brain_context c = {.preferences = prefs, .n_preferences = 2};
    brain_prompt full, p;
    brain_prompt_input in = {.user_prompt = "x", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &full), 0);
    in.token_budget = full.tokens - 2;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_int_equal(p.dropped_memory, 1);
    assert_null(strstr(p.user, "weak_pref"));
    assert_non_null(strstr(p.user, "preferred_mood"));
    brain_prompt_clear(&p);
    brain_prompt_clear(&full);
}

static void test_degraded_note(void **state) {
    (void)state;
    brain_context c = {.degraded = true};
    brain_prompt p;
    brain_prompt_image im = {"https://x/a.png", "abcd"};
    brain_prompt_input in = {.user_prompt = "x", .ctx = &c, .images = &im, .n_images = 1, .token_budget = 1000};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_non_null(strstr(p.user, "memory is unavailable"));
    assert_non_null(strstr(p.user, "analysis pending, image abcd"));
    brain_prompt_clear(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_truncation),
        cmocka_unit_test(test_truncation_order),
        cmocka_unit_test(test_memory_drops_least_confident_first),
        cmocka_unit_test(test_degraded_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
