/* brain-worker's LLM answer parser (brain_llm_parse_response over bf_chat) on a hostile
 * chat-completions body: the endpoint is configurable, so its answers are untrusted input. The
 * first byte picks the checking context (storyboard known or degraded, images attached or not, a
 * selected scene or none); the rest is the body, against a guard page. Properties: the result is
 * one of the three classes; INVALID leaves a reason and an empty answer; OK and CLARIFIED leave a
 * known tool, a NUL-terminated target that (for scene tools on a known storyboard) names a real
 * scene, and a question for clarifications. */
#include "bf_fuzz.h"

#include <string.h>

#include "brain_llm.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 3000}, {"s2", "Logo", 2, 4000}, {"scene-3", "Outro", 3, 2500}};
static brain_image_facts images[] = {{.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", .facts = "{\"mood\":\"calm\"}", .created_at = "2024-06-10"}};

int bf_fuzz_llm_answer(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned mode = data[0];
    brain_context ctx = {.scenes = scenes, .n_scenes = sizeof scenes / sizeof scenes[0]};
    if (mode & 1u) {
        ctx.images = images;
        ctx.n_images = 1;
    }
    brain_llm_check chk = {.ctx = &ctx,
                           .scenes_known = (mode & 2u) == 0,
                           .n_request_images = (mode >> 2) & 3u,
                           .selected_scene = (mode & 16u) ? "s2" : ((mode & 32u) ? "" : NULL)};
    void *map = NULL;
    size_t map_len = 0;
    const char *body = bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!body) return 0;
    brain_answer a;
    char err[256];
    memset(err, 'x', sizeof err);
    brain_llm_result r = brain_llm_parse_response(body, size - 1, &chk, &a, err, sizeof err);
    if (!memchr(err, '\0', sizeof err)) bf_fuzz_fail("brain_llm_parse_response", "error not NUL-terminated");
    switch (r) {
    case BRAIN_LLM_INVALID:
        if (!err[0]) bf_fuzz_fail("brain_llm_parse_response", "INVALID without a reason");
        if (a.params || a.summary || a.question) bf_fuzz_fail("brain_llm_parse_response", "INVALID leaves memory");
        break;
    case BRAIN_LLM_OK:
    case BRAIN_LLM_CLARIFIED:
        if ((unsigned)a.tool >= BRAIN_TOOL_COUNT) bf_fuzz_fail("brain_llm_parse_response", "tool out of range");
        if (!memchr(a.target_scene, '\0', sizeof a.target_scene))
            bf_fuzz_fail("brain_llm_parse_response", "target_scene not NUL-terminated");
        if (r == BRAIN_LLM_CLARIFIED && a.tool != BRAIN_TOOL_CLARIFY)
            bf_fuzz_fail("brain_llm_parse_response", "CLARIFIED but not a clarification");
        if (a.tool == BRAIN_TOOL_CLARIFY && (!a.question || !a.question[0]))
            bf_fuzz_fail("brain_llm_parse_response", "clarification without a question");
        if (a.tool != BRAIN_TOOL_CLARIFY && brain_tool_needs_scene(a.tool)) {
            if (!a.target_scene[0]) bf_fuzz_fail("brain_llm_parse_response", "scene tool without a target");
            if (chk.scenes_known && !brain_context_find_scene(&ctx, a.target_scene))
                bf_fuzz_fail("brain_llm_parse_response", "scene tool on a scene not in the storyboard");
        }
        if (a.tool != BRAIN_TOOL_CLARIFY && brain_tool_needs_image(a.tool) && chk.n_request_images == 0 &&
            ctx.n_images == 0)
            bf_fuzz_fail("brain_llm_parse_response", "image tool without an image");
        break;
    default:
        bf_fuzz_fail("brain_llm_parse_response", "result outside the three classes");
    }
    brain_answer_clear(&a);
    (void)brain_llm_completion_tokens(body, size - 1);
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_llm_answer(data, size);
}
#endif
