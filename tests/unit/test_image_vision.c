/* The vision answer parser: valid answers fill the vision fields; every malformed class is an
 * error that leaves the builtin facts alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_vision.h"

/* A chat completion whose message content is content (escaped into JSON). */
static char *completion(const char *content) {
    cJSON *root = cJSON_CreateObject();
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON *msg = cJSON_AddObjectToObject(ch, "message");
    cJSON_AddStringToObject(msg, "role", "assistant");
    cJSON_AddStringToObject(msg, "content", content);
    cJSON_AddItemToArray(choices, ch);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static void test_valid_answer_in_fence(void **state) {
    (void)state;
    char *body = completion("Here you go:\n```json\n{\"typography\":{\"weight\":\"bold\"},\"objects\":[\"cat\",\"sofa\"],"
                            "\"visible_text\":[\"SALE\"],\"layout\":{\"composition\":\"centered\"},\"extra\":1}\n```");
    bf_image_facts f = {0};
    char err[256] = "";
    assert_int_equal(image_vision_parse(body, strlen(body), &f, err, sizeof err), 0);
    assert_string_equal(f.typography, "{\"weight\":\"bold\"}");
    assert_null(f.style);
    assert_int_equal(f.objects.n, 2);
    assert_string_equal(f.objects.v[1], "sofa");
    assert_int_equal(f.visible_text.n, 1);
    assert_string_equal(f.layout, "{\"composition\":\"centered\"}");
    bf_image_facts_free(&f);
    free(body);
}

static void expect_error(const char *body, const char *fragment) {
    bf_image_facts f = {0};
    char err[256] = "";
    if (image_vision_parse(body, body ? strlen(body) : 0, &f, err, sizeof err) == 0) fail_msg("accepted %s", body);
    if (!strstr(err, fragment)) fail_msg("for %s: error '%s' lacks '%s'", body, err, fragment);
    assert_null(f.typography);
    assert_int_equal(f.objects.n, 0);
}

static void test_malformed_classes(void **state) {
    (void)state;
    expect_error("not json at all", "not a JSON object");
    expect_error("{\"choices\":[]}", "no choices");
    expect_error("{\"choices\":[{\"message\":{\"content\":\"\"}}]}", "no message content");
    expect_error("{\"choices\":[{\"message\":{}}]}", "no message content");
    expect_error("{\"choices\":[{\"message\":{\"content\":\"a cat on a sofa\"}}]}", "not a JSON object");
    char *b;
    b = completion("{\"objects\":\"cat\"}");
    expect_error(b, "answer.objects");
    free(b);
    b = completion("{\"objects\":[1,2]}");
    expect_error(b, "answer.objects[0]");
    free(b);
    b = completion("{\"typography\":\"bold\"}");
    expect_error(b, "answer.typography");
    free(b);
    b = completion("{\"mood\":\"happy\"}");
    expect_error(b, "none of");
    free(b);
    char many[4096] = "{\"objects\":[";
    for (int i = 0; i < 40; i++) strncat(many, i ? ",\"x\"" : "\"x\"", sizeof many - strlen(many) - 1);
    strncat(many, "]}", sizeof many - strlen(many) - 1);
    b = completion(many);
    expect_error(b, "answer.objects");
    free(b);
    char longitem[600] = "{\"visible_text\":[\"";
    memset(longitem + strlen(longitem), 'a', 300);
    memcpy(longitem + strlen(longitem), "\"]}", 4);
    b = completion(longitem);
    expect_error(b, "answer.visible_text[0]");
    free(b);
}

static void test_request_and_data_url(void **state) {
    (void)state;
    char *url = image_vision_data_url_new("\x89PNG", 4, "image/png");
    assert_string_equal(url, "data:image/png;base64,iVBORw==");
    char *req = image_vision_request_new("gpt-4o", url);
    cJSON *j = cJSON_Parse(req);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "gpt-4o");
    assert_non_null(strstr(req, "data:image/png;base64,iVBORw=="));
    cJSON_Delete(j);
    free(req);
    free(url);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_answer_in_fence),
        cmocka_unit_test(test_malformed_classes),
        cmocka_unit_test(test_request_and_data_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
