/* bf_json_schema: every supported keyword accepts and refuses what JSON Schema says, the error
 * names the place, unsupported keywords and dangling $refs are refused when loading, and a $ref
 * cycle cannot recurse forever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_schema.h"

static bf_json_schema *load(const char *text) {
    char err[256];
    bf_json_schema *s = bf_json_schema_new(text, strlen(text), err, sizeof err);
    if (!s) fail_msg("schema refused: %s", err);
    return s;
}

typedef struct {
    const char *instance;
    const char *err_has; /* NULL: must pass */
} inst_case;

static void run(const char *schema, const inst_case *cases, size_t n) {
    bf_json_schema *s = load(schema);
    for (size_t i = 0; i < n; i++) {
        cJSON *v = cJSON_Parse(cases[i].instance);
        assert_non_null(v);
        char err[512] = "";
        int r = bf_json_schema_check(s, NULL, v, "args", err, sizeof err);
        if (!cases[i].err_has && r != 0) fail_msg("%s: refused: %s", cases[i].instance, err);
        if (cases[i].err_has && r == 0) fail_msg("%s: accepted, expected \"%s\"", cases[i].instance, cases[i].err_has);
        if (cases[i].err_has && !strstr(err, cases[i].err_has))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].instance, err, cases[i].err_has);
        cJSON_Delete(v);
    }
    bf_json_schema_free(s);
}

static void test_object_keywords(void **state) {
    (void)state;
    static const char schema[] =
        "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
        "\"s\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":3},\"e\":{\"enum\":[\"a\",\"b\"]},"
        "\"c\":{\"const\":true},\"x\":{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}},"
        "\"required\":[\"n\"],\"additionalProperties\":false,\"minProperties\":1,\"maxProperties\":3}";
    inst_case cases[] = {
        {"{\"n\":1}", NULL},
        {"{\"n\":10,\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", NULL}, /* three characters, six bytes */
        {"{\"n\":5.0}", NULL},
        {"{}", "args: has 0 properties, fewer than 1"},
        {"{\"s\":\"ab\"}", "args: missing required property \"n\""},
        {"{\"n\":\"5\"}", "args.n: expected integer, got string"},
        {"{\"n\":1.5}", "args.n: expected integer, got number"},
        {"{\"n\":0}", "args.n: 0 is below the minimum 1"},
        {"{\"n\":11}", "args.n: 11 is above the maximum 10"},
        {"{\"n\":1,\"s\":\"a\"}", "args.s: is 1 characters long, shorter than 2"},
        {"{\"n\":1,\"s\":\"abcd\"}", "args.s: is 4 characters long, longer than 3"},
        {"{\"n\":1,\"e\":\"z\"}", "args.e: \"z\" is not one of \"a\", \"b\""},
        {"{\"n\":1,\"c\":false}", "args.c: must be true"},
        {"{\"n\":1,\"x\":0}", "args.x: 0 must be above 0"},
        {"{\"n\":1,\"x\":1}", "args.x: 1 must be below 1"},
        {"{\"n\":1,\"zz\":1}", "args: unknown property \"zz\" (allowed: n, s, e, c, x)"},
        {"{\"n\":1,\"s\":\"ab\",\"e\":\"a\",\"c\":true}", "has 4 properties, more than 3"},
        {"[1]", "args: expected object, got array"},
    };
    run(schema, cases, sizeof cases / sizeof cases[0]);
}

static void test_arrays_refs_and_combinators(void **state) {
    (void)state;
    static const char schema[] =
        "{\"$defs\":{\"msg\":{\"oneOf\":[{\"$ref\":\"#/$defs/sys\"},{\"$ref\":\"#/$defs/usr\"}]},"
        "\"sys\":{\"type\":\"object\",\"properties\":{\"role\":{\"enum\":[\"system\"]},\"content\":{\"type\":\"string\"}},"
        "\"required\":[\"role\",\"content\"]},"
        "\"usr\":{\"type\":\"object\",\"properties\":{\"role\":{\"enum\":[\"user\"]},\"content\":{\"anyOf\":["
        "{\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1}]}},"
        "\"required\":[\"role\"]}},"
        "\"type\":\"array\",\"minItems\":1,\"maxItems\":3,\"items\":{\"$ref\":\"#/$defs/msg\"},"
        "\"not\":{\"maxItems\":0},\"allOf\":[{\"type\":\"array\"}]}";
    inst_case cases[] = {
        {"[{\"role\":\"system\",\"content\":\"x\"}]", NULL},
        {"[{\"role\":\"user\",\"content\":[\"a\",\"b\"]},{\"role\":\"user\"}]", NULL},
        {"[]", "args: has 0 items, fewer than 1"},
        {"[{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\"},{\"role\":\"user\"}]", "more than 3"},
        /* The closest branch (user: the role matched) names the real problem. */
        {"[{\"role\":\"user\",\"content\":[]}]", "args[0].content: has 0 items, fewer than 1"},
        {"[{\"role\":\"user\",\"content\":7}]", "args[0].content: expected"},
        {"[{\"role\":\"robot\"}]", "args[0].role: \"robot\" is not one of"},
        {"[{\"role\":\"system\"}]", "args[0]: missing required property \"content\""},
    };
    run(schema, cases, sizeof cases / sizeof cases[0]);
}

static void test_one_of_ambiguity_and_types(void **state) {
    (void)state;
    static const char schema[] = "{\"oneOf\":[{\"type\":\"number\"},{\"type\":\"integer\"}],"
                                 "\"type\":[\"integer\",\"number\",\"null\"]}";
    inst_case cases[] = {
        {"1.5", NULL},
        {"2", "matches more than one form of oneOf"},
        {"null", "expected"},
        {"\"x\"", "expected one of the types integer, number, null, got string"},
    };
    run(schema, cases, sizeof cases / sizeof cases[0]);
}

static void test_load_refuses_what_it_cannot_check(void **state) {
    (void)state;
    static const struct {
        const char *schema, *err_has;
    } bad[] = {
        {"{\"type\":\"string\",\"pattern\":\"^a\"}", "keyword \"pattern\" is not supported"},
        {"{\"properties\":{\"a\":{\"if\":{}}}}", "#/properties/a: keyword \"if\" is not supported"},
        {"{\"$ref\":\"#/$defs/nope\"}", "does not resolve"},
        {"{\"$ref\":\"other.json#/x\"}", "does not resolve"},
        {"{\"minimum\":\"1\"}", "\"minimum\" has the wrong form"},
        {"{\"anyOf\":[]}", "\"anyOf\" has the wrong form"},
        {"{\"items\":7}", "a schema must be an object or a boolean"},
        {"not json", "schema is not JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        bf_json_schema *s = bf_json_schema_new(bad[i].schema, strlen(bad[i].schema), err, sizeof err);
        if (s) fail_msg("%s: loaded", bad[i].schema);
        if (!strstr(err, bad[i].err_has)) fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].schema, err, bad[i].err_has);
    }
    /* Annotations and x- extensions are fine. */
    bf_json_schema_free(load("{\"title\":\"t\",\"description\":\"d\",\"default\":1,\"format\":\"uri\","
                             "\"x-anything\":{\"pattern\":1},\"$comment\":\"c\",\"deprecated\":true}"));
}

static void test_ref_cycle_is_bounded(void **state) {
    (void)state;
    bf_json_schema *s = load("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}");
    cJSON *v = cJSON_CreateNumber(1);
    char err[256];
    assert_int_equal(bf_json_schema_check(s, NULL, v, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "too deep"));
    /* A definition as the entry point. */
    assert_int_equal(bf_json_schema_check(s, "#/$defs/missing", v, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not found"));
    cJSON_Delete(v);
    bf_json_schema_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_keywords),
        cmocka_unit_test(test_arrays_refs_and_combinators),
        cmocka_unit_test(test_one_of_ambiguity_and_types),
        cmocka_unit_test(test_load_refuses_what_it_cannot_check),
        cmocka_unit_test(test_ref_cycle_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
