/* brain-worker's LLM answer handling on a hostile chat-completions body: the endpoint is
 * configurable, so its answers are untrusted input. The first byte picks the checking context
 * (storyboard known or degraded, the project's image, images attached, a selected scene, tools or
 * JSON mode); the rest is the body, against a guard page, through brain_llm_classify (function
 * calling and JSON mode).
 * Properties:
 *   - classify: one of the four verdicts; not OK leaves an empty answer and a problem; REPAIR and
 *     REFUSED carry follow-up messages that make a repair request; OK leaves calls that are valid
 *     by their schemas and the semantic checks (brain_tools_check_answer);
 *   - every accepted answer encodes into a brainDecisions message that decodes. */
#include "bf_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_decision.h"
#include "brain_llm.h"
#include "brain_outcome.h"

static brain_scene scenes[] = {
    {"s1", "Intro", 1, 3000, "", 0}, {"s2", "Logo", 2, 4000, "", 0}, {"scene-3", "Outro", 3, 2500, "", 0}};
static char *project_urls[] = {"https://cdn.example.com/moodboard.png"};
static brain_image_facts images[] = {{.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", .facts = "{\"mood\":\"calm\"}",
                                      .created_at = "2024-06-10", .urls = {project_urls, 1}}};
static const char *const request_images[] = {"https://uploads.example.com/a.jpg", "https://uploads.example.com/b.png",
                                             "https://uploads.example.com/c.webp"};

#define FAIL(what) bf_fuzz_fail("llm_answer", what)

/* The answer must become one decision that consumers accept. */
static void must_encode(const brain_answer *a, const char *model) {
    brain_outcome o = {.project_id = "p1", .request_id = "0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b", .answer = a,
                       .model = model, .budget_tokens = 1000};
    char err[512];
    char *json = brain_outcome_decision_encode(&o, 1718000000000, err, sizeof err);
    if (!json) {
        fprintf(stderr, "not encodable: %s\n", err);
        FAIL("an accepted answer does not encode into brainDecisions");
    }
    bf_msg_brain_decision d;
    if (bf_msg_brain_decision_decode(json, strlen(json), &d, err, sizeof err) != 0) {
        fprintf(stderr, "not decodable: %s\n", err);
        FAIL("an encoded decision does not decode");
    }
    bf_msg_brain_decision_free(&d);
    free(json);
}

static void classify(const brain_tools *tools, const char *body, size_t len, brain_llm_mode mode,
                     const brain_tool_env *env) {
    brain_answer a;
    brain_llm_verdict v;
    memset(v.problem, 'x', sizeof v.problem);
    brain_llm_verdict_kind k = brain_llm_classify(body, len, mode, tools, env, &a, &v);
    if (k != v.kind || !v.code) FAIL("verdict and its code disagree");
    if (!memchr(v.problem, '\0', sizeof v.problem)) FAIL("problem not NUL-terminated");
    switch (k) {
    case BRAIN_LLM_VERDICT_OK: {
        if ((unsigned)a.tool >= BRAIN_TOOL_COUNT || !a.summary) FAIL("OK without a tool and a summary");
        if (a.tool == BRAIN_TOOL_CLARIFY && (!a.question || !a.question[0])) FAIL("clarification without a question");
        char err[1024];
        if (brain_tools_check_answer(tools, &a, env, err, sizeof err) != BRAIN_CALL_OK) {
            fprintf(stderr, "%s\n", err);
            FAIL("an OK answer is not valid by its schema");
        }
        must_encode(&a, "fuzz-model");
        break;
    }
    case BRAIN_LLM_VERDICT_REPAIR:
    case BRAIN_LLM_VERDICT_REFUSED: {
        if (a.summary || a.params || a.question) FAIL("not OK but an answer");
        if (!v.problem[0] || !v.followup) FAIL("repairable without a problem or follow-up");
        static const char first[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"u\"}]}";
        char err[256];
        char *repair = brain_llm_repair_request_new(first, &v, err, sizeof err);
        if (!repair) FAIL("no repair request for a repairable answer");
        free(repair);
        break;
    }
    case BRAIN_LLM_VERDICT_FAILED:
        if (a.summary || a.params || a.question || !v.problem[0]) FAIL("FAILED with an answer or without a problem");
        break;
    default:
        FAIL("verdict outside the four classes");
    }
    brain_answer_clear(&a);
    brain_llm_verdict_clear(&v);
}

int bf_fuzz_llm_answer(const uint8_t *data, size_t size) {
    /* Compiled once: the schemas are constant, and loading them per input would drown the run. */
    static brain_tools *tools;
    if (!tools) {
        char err[256];
        tools = brain_tools_new(err, sizeof err);
        if (!tools) {
            fprintf(stderr, "%s\n", err);
            FAIL("the tool schemas do not load");
        }
    }
    if (size < 1) return 0;
    unsigned mode = data[0];
    brain_context ctx = {.scenes = scenes, .n_scenes = sizeof scenes / sizeof scenes[0]};
    if (mode & 1u) {
        ctx.images = images;
        ctx.n_images = 1;
    }
    bool known = (mode & 2u) == 0;
    size_t n_req = (mode >> 2) & 3u;
    const char *selected = (mode & 16u) ? "s2" : ((mode & 32u) ? "" : NULL);
    void *map = NULL;
    size_t map_len = 0;
    const char *body = bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!body) return 0;
    brain_tool_env env = {.ctx = &ctx, .scenes_known = known, .selected_scene = selected,
                          .request_images = request_images, .n_request_images = n_req};
    classify(tools, body, size - 1, (mode & 64u) ? BRAIN_LLM_MODE_JSON : BRAIN_LLM_MODE_TOOLS, &env);
    (void)brain_llm_completion_tokens(body, size - 1);
    (void)brain_llm_prompt_tokens(body, size - 1);
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_llm_answer(data, size);
}
#endif
