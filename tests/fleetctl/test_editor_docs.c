/* docs/editor-integration.md's worked example is what the reference editor does: every decision
 * shown there (`<!-- example: decision -->` then a json block) is decoded with the consumers' codec
 * and applied, in order, to one storyboard; the editor events that follow it (`<!-- example:
 * events -->`, the JSON messages one after the other) must be exactly the events the editor publishes (compared
 * as JSON values), and the storyboard shown last (`<!-- example: storyboard -->`) exactly what
 * `fleetctl storyboard -o json` prints. BF_PRINT_EXAMPLES=1 prints what the editor produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_editor_event.h"
#include "fleet_editor.h"
#include "fleet_storyboard.h"
#include "support_fleet.h"

/* The json block after marker at *p (moves *p past it); NULL when no more markers. Caller frees. */
static char *next_block(const char **p, const char *marker) {
    const char *m = strstr(*p, marker);
    if (!m) return NULL;
    const char *open = strstr(m, "```json\n");
    assert_non_null(open);
    open += 8;
    const char *close = strstr(open, "```");
    assert_non_null(close);
    *p = close + 3;
    return strndup(open, (size_t)(close - open));
}

/* Whether a and b are the same JSON value; prints both when not. */
static int same_json(const char *what, const char *doc, const char *got) {
    cJSON *a = cJSON_Parse(doc), *b = cJSON_Parse(got);
    if (!a) fail_msg("%s in the doc is not JSON:\n%s", what, doc);
    int eq = cJSON_Compare(a, b, 1);
    if (!eq) fprintf(stderr, "%s differs.\ndoc:    %s\neditor: %s\n", what, doc, got);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return eq;
}

static void the_worked_example_is_what_the_editor_does(void **state) {
    (void)state;
    char *doc = fleet_it_source_new("docs/editor-integration.md");
    bool print = getenv("BF_PRINT_EXAMPLES") != NULL;
    fleet_storyboards sb = {0};
    const char *p = doc, *project = NULL;
    char project_id[BF_ID_MAX + 1] = "";
    int examples = 0, mismatches = 0;
    for (char *dec; (dec = next_block(&p, "<!-- example: decision -->")) != NULL; free(dec)) {
        examples++;
        bf_msg_brain_decision d;
        char err[512];
        if (bf_msg_brain_decision_decode(dec, strlen(dec), &d, err, sizeof err) != 0)
            fail_msg("decision %d of the doc does not decode: %s", examples, err);
        snprintf(project_id, sizeof project_id, "%s", d.env.project_id);
        project = project_id;
        /* The events' time: 25 ms after the decision, as the example shows them. */
        fleet_editor_opts o = {.producer = "fleetctl-editor", .now_ms = d.env.produced_at_ms + 25};
        fleet_editor_out out;
        assert_int_equal(fleet_editor_apply(&sb, &d, &o, &out, err, sizeof err), 0);
        char *events = next_block(&p, "<!-- example: events -->");
        assert_non_null(events);
        /* The block holds JSON values one after the other (wrapped as the doc likes). */
        const char *rest = events;
        for (size_t i = 0; i < out.n_events; i++) {
            char *got = bf_msg_editor_event_encode(&out.events[i], err, sizeof err);
            assert_non_null(got);
            if (print) printf("%s\n", got);
            while (*rest == ' ' || *rest == '\n') rest++;
            const char *end = NULL;
            cJSON *want = *rest ? cJSON_ParseWithOpts(rest, &end, 0) : NULL;
            if (!want) {
                fprintf(stderr, "example %d: the doc shows %zu event(s), the editor publishes %zu\n", examples, i,
                        out.n_events);
                mismatches++;
            } else {
                char *text = cJSON_PrintUnformatted(want), what[64];
                snprintf(what, sizeof what, "example %d, event %zu", examples, i + 1);
                mismatches += !same_json(what, text, got);
                free(text);
                cJSON_Delete(want);
                rest = end;
            }
            free(got);
        }
        while (*rest == ' ' || *rest == '\n') rest++;
        if (*rest) {
            fprintf(stderr, "example %d: the doc shows more events than the editor publishes:\n%s", examples, rest);
            mismatches++;
        }
        if (print) printf("--\n");
        free(events);
        fleet_editor_out_free(&out);
        bf_msg_brain_decision_free(&d);
    }
    assert_true(examples >= 3);
    char *board = next_block(&p, "<!-- example: storyboard -->");
    assert_non_null(board);
    cJSON *j = fleet_storyboard_json(fleet_storyboards_find(&sb, project));
    char *got = cJSON_PrintUnformatted(j);
    if (print) printf("%s\n", got);
    mismatches += !same_json("the storyboard", board, got);
    free(got);
    cJSON_Delete(j);
    free(board);
    fleet_storyboards_free(&sb);
    free(doc);
    assert_int_equal(mismatches, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_worked_example_is_what_the_editor_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
