#include "brain_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_strbuf.h"

static const char system_prompt[] =
    "You are the brain of a motion-graphics video editor. The user chats with you about their video\n"
    "project; you decide exactly one action on the storyboard, or ask one clarifying question.\n"
    "\n"
    "Tools (use the exact name):\n"
    "- addScene: add a new scene. params: {\"instruction\": text, \"position\": optional int, "
    "\"duration_ms\": optional int}\n"
    "- editScene: change an existing scene. target_scene required. params: {\"instruction\": text}\n"
    "- deleteScene: remove an existing scene. target_scene required.\n"
    "- fixBrokenScene: repair a scene that fails to render or looks wrong. target_scene required.\n"
    "- analyzeImage: only describe an uploaded image, no storyboard change. params: {\"image_url\": url}\n"
    "- createSceneFromImage: new scene styled after an uploaded image. params: {\"image_url\": url, "
    "\"instruction\": text}\n"
    "- editSceneWithImage: restyle an existing scene after an uploaded image. target_scene required. "
    "params: {\"image_url\": url, \"instruction\": text}\n"
    "- changeDuration: change a scene's duration. target_scene required. params: {\"duration_ms\": int} or "
    "{\"delta_ms\": int}\n"
    "\n"
    "Answer with ONE JSON object and nothing else (no prose, no code fences):\n"
    "{\"tool\": \"<tool name, or clarification>\", \"target_scene\": \"<scene id from the storyboard, or "
    "null>\", \"params\": {...}, \"summary\": \"<one sentence: what you will do>\", \"question\": "
    "\"<only for clarification>\"}\n"
    "\n"
    "Rules:\n"
    "- target_scene must be the id of a scene listed in the storyboard; when the user means the selected\n"
    "  scene, use its id. If you cannot tell which scene is meant, answer with tool \"clarification\".\n"
    "- Follow the user's stated preferences and the style of their images unless the request says\n"
    "  otherwise; mention in the summary which preference or image fact you applied.\n"
    "- Image facts may still be pending for images attached to this request; decide with what you have.\n"
    "- If the request is empty or ambiguous, answer with tool \"clarification\" and a short question.\n";

/* The system prompt of the function-calling path. JSON mode appends the functions and the answer
 * format; tools mode sends the functions as the request's tools. */
static const char rules_prompt[] =
    "You are the brain of a motion-graphics video editor. The user chats with you about their video\n"
    "project; you act on the storyboard by calling the functions you are given, or ask the user one\n"
    "question with askClarification.\n"
    "\n"
    "Rules:\n"
    "- Call exactly one function for a single request; for a request with several steps, call several\n"
    "  functions in the order they must happen.\n"
    "- scene_id must be the id of a scene listed in the storyboard. When the user means the selected\n"
    "  scene (\"this scene\", \"it\"), use the selected scene's id. If you cannot tell which scene is\n"
    "  meant, call askClarification.\n"
    "- image_url must be one of the URLs listed for this request's images or the project's image facts.\n"
    "- An element inside a scene (a logo, a title, a line of text, a bullet point, a colour) is changed\n"
    "  with editScene, also when the user says \"remove\" or \"take out\". deleteScene deletes the\n"
    "  whole scene: only for a clear request to delete the scene itself.\n"
    "- changeDuration is only about how long a scene plays (seconds, longer, shorter, faster, slower);\n"
    "  \"second\" as in \"the second line\" is not a duration.\n"
    "- Follow the user's stated preferences and the style of their images unless the request says\n"
    "  otherwise; say in the summary which preference or image fact you applied.\n"
    "- Image facts may still be pending for images attached to this request; decide with what you have.\n"
    "- If the request is empty or ambiguous, call askClarification with a short question.\n";

static const char json_format[] =
    "\n"
    "Answer with ONE JSON object and nothing else (no prose, no code fences):\n"
    "{\"tool\": \"<function name>\", \"arguments\": {...}}\n"
    "or, for a request with several steps, {\"calls\": [{\"tool\": ..., \"arguments\": {...}}, ...]} in order.\n";

/* Per message: the role and the framing the server wraps around it. */
#define TOKENS_PER_MESSAGE 8

long long brain_tokens_count(const char *text) {
    size_t ascii = 0, other = 0;
    for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
        if (*p < 0x80) ascii++;
        else if ((*p & 0xC0) != 0x80) other++; /* a lead byte: one character */
    }
    return (long long)((ascii + 2) / 3 + other);
}

static char *system_new(const brain_prompt_input *in) {
    if (!in->tools) return strdup(system_prompt);
    brain_strbuf b = {0};
    brain_strbuf_append(&b, rules_prompt);
    if (in->mode == BRAIN_LLM_MODE_JSON) {
        brain_strbuf_append(&b, "\nFunctions:\n");
        brain_strbuf_append(&b, brain_tools_prompt_list(in->tools));
        brain_strbuf_append(&b, json_format);
    }
    return brain_strbuf_take(&b);
}

/* Tokens the request spends besides the prompts: the functions, in tools mode. */
static long long fixed_tokens(const brain_prompt_input *in) {
    long long n = 2 * TOKENS_PER_MESSAGE;
    if (in->tools && in->mode == BRAIN_LLM_MODE_TOOLS) n += brain_tokens_count(brain_tools_openai_json(in->tools));
    return n;
}

static const size_t name_limits[] = {0, 120, 40, 12}; /* 0: no limit */

typedef struct keep {
    size_t msg_from;   /* first conversation message kept */
    size_t images;     /* image analyses kept (newest first) */
    size_t rel_skip;   /* relationships dropped (lowest confidence first) */
    size_t pref_skip;  /* preferences dropped (lowest confidence first) */
    size_t name_level; /* index into name_limits */
} keep;

/* At most max characters of s (whole UTF-8 sequences), "..." marking a cut; max 0: all. */
static void append_name(brain_strbuf *b, const char *s, size_t max, size_t *shortened) {
    size_t chars = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && max && chars++ == max) break;
    }
    brain_strbuf_appendn(b, s, i);
    if (s[i]) {
        brain_strbuf_append(b, "...");
        (*shortened)++;
    }
}

/* Index order of items by descending confidence: memory items beyond the kept count are the
 * least confident ones, whatever order the database returned. */
static int by_conf_desc(const void *a, const void *b) {
    const brain_memory_item *x = *(const brain_memory_item *const *)a, *y = *(const brain_memory_item *const *)b;
    return (x->confidence < y->confidence) - (x->confidence > y->confidence);
}

static void render_memory(brain_strbuf *b, const char *title, const brain_memory_item *items, size_t n, size_t skip) {
    brain_strbuf_printf(b, "## %s\n", title);
    if (n <= skip) {
        brain_strbuf_append(b, "(none)\n\n");
        return;
    }
    const brain_memory_item **order = malloc(n * sizeof *order);
    if (!order) {
        b->b.oom = true; /* the prompt would lack this section: fail it as a whole */
        return;
    }
    for (size_t i = 0; i < n; i++) order[i] = &items[i];
    qsort(order, n, sizeof *order, by_conf_desc);
    for (size_t i = 0; i < n - skip; i++)
        brain_strbuf_printf(b, "- %s: %s (confidence %.2f)\n", order[i]->key, order[i]->value, order[i]->confidence);
    free(order);
    brain_strbuf_append(b, "\n");
}

/* Where the conversation stands, so that "make it shorter" or "the second one" reads against the
 * scene and the question the user is answering, not against the whole storyboard. */
static void render_conversation_state(brain_strbuf *b, const brain_conversation *cv) {
    if (!cv->turn_count && !cv->current_scene_id[0] && !cv->open.present) return;
    brain_strbuf_append(b, "\n## Conversation state\n");
    if (cv->turn_count) brain_strbuf_printf(b, "turns so far: %lld\n", (long long)cv->turn_count);
    if (cv->current_scene_id[0])
        brain_strbuf_printf(b, "current scene: id=%s%s\n", cv->current_scene_id,
                            cv->new_scene ? " (created by the last decision)" : "");
    if (cv->last_tool[0]) brain_strbuf_printf(b, "last decision: %s\n", cv->last_tool);
    if (cv->open.present) {
        brain_strbuf_printf(b, "open question (the request may answer it): %s\n",
                            cv->open.question ? cv->open.question : "");
        if (cv->open.pending_prompt) brain_strbuf_printf(b, "asked about: %s\n", cv->open.pending_prompt);
        for (size_t i = 0; i < cv->open.n_options; i++)
            brain_strbuf_printf(b, "option %zu: %s (scene id=%s)\n", i + 1, cv->open.options[i].label,
                                cv->open.options[i].scene_id);
    }
}

static char *render(const brain_prompt_input *in, const keep *k, size_t *shortened) {
    const brain_context *c = in->ctx;
    brain_strbuf b = {0};
    *shortened = 0;
    if (c->degraded)
        brain_strbuf_append(&b, "NOTE: project memory is unavailable right now; decide from the request and "
                                "conversation below.\n\n");
    brain_strbuf_printf(&b, "## Storyboard (%zu scenes, in order)\n", c->n_scenes);
    if (!c->n_scenes) brain_strbuf_append(&b, c->degraded ? "(unknown)\n" : "(empty)\n");
    for (size_t i = 0; i < c->n_scenes; i++) {
        brain_strbuf_printf(&b, "- id=%s name=\"", c->scenes[i].id);
        append_name(&b, c->scenes[i].name, name_limits[k->name_level], shortened);
        brain_strbuf_printf(&b, "\" position=%lld duration_ms=%lld\n", c->scenes[i].position, c->scenes[i].duration_ms);
    }
    brain_strbuf_append(&b, "\n## Selected scene\n");
    if (in->selected_scene && *in->selected_scene) {
        const brain_scene *s = brain_context_find_scene(c, in->selected_scene);
        if (s) {
            size_t ignored;
            brain_strbuf_printf(&b, "id=%s name=\"", s->id);
            append_name(&b, s->name, name_limits[k->name_level], &ignored);
            brain_strbuf_append(&b, "\"\n\n");
        }
        else brain_strbuf_printf(&b, "id=%s%s\n\n", in->selected_scene, c->degraded ? "" : " (not in the storyboard)");
    } else {
        brain_strbuf_append(&b, "(none)\n\n");
    }
    render_memory(&b, "User preferences", c->preferences, c->n_preferences, k->pref_skip);
    render_memory(&b, "Scene relationships", c->relationships, c->n_relationships, k->rel_skip);
    brain_strbuf_append(&b, "## Image facts already known for this project (newest first)\n");
    if (!k->images) brain_strbuf_append(&b, "(none)\n");
    for (size_t i = 0; i < k->images && i < c->n_images; i++)
        brain_strbuf_printf(&b, "- image %s (%s): %s\n", c->images[i].trace_id, c->images[i].created_at,
                            c->images[i].facts);
    brain_strbuf_append(&b, "\n## Images attached to this request\n");
    if (!in->n_images) brain_strbuf_append(&b, "(none)\n");
    for (size_t i = 0; i < in->n_images; i++) {
        if (in->images[i].trace_id && *in->images[i].trace_id)
            brain_strbuf_printf(&b, "- %s (analysis pending, image %s)\n", in->images[i].url, in->images[i].trace_id);
        else
            brain_strbuf_printf(&b, "- %s (already analysed; see image facts)\n", in->images[i].url);
    }
    brain_strbuf_append(&b, "\n## Conversation so far (oldest first)\n");
    if (k->msg_from >= c->n_messages) brain_strbuf_append(&b, "(none)\n");
    for (size_t i = k->msg_from; i < c->n_messages; i++)
        brain_strbuf_printf(&b, "%s: %s\n", c->messages[i].role, c->messages[i].content);
    render_conversation_state(&b, &c->conv);
    brain_strbuf_append(&b, "\n## Request\n");
    brain_strbuf_append(&b, in->user_prompt ? in->user_prompt : "");
    brain_strbuf_append(&b, "\n");
    return brain_strbuf_take(&b);
}

static bool drop_one(const brain_context *c, keep *k) {
    if (k->msg_from < c->n_messages) k->msg_from++;
    else if (k->images > 0) k->images--;
    else if (k->rel_skip < c->n_relationships) k->rel_skip++;
    else if (k->pref_skip < c->n_preferences) k->pref_skip++;
    else if (k->name_level + 1 < sizeof name_limits / sizeof name_limits[0]) k->name_level++;
    else return false;
    return true;
}

int brain_prompt_build(const brain_prompt_input *in, brain_prompt *out) {
    memset(out, 0, sizeof *out);
    const brain_context *c = in->ctx;
    keep k = {.images = c->n_images};
    char *sys = system_new(in);
    long long fixed = fixed_tokens(in);
    size_t shortened = 0;
    char *user = sys && fixed >= 0 ? render(in, &k, &shortened) : NULL;
    if (!user) {
        free(sys);
        return -1;
    }
    long long sys_tokens = brain_tokens_count(sys) + fixed;
    long long tokens = sys_tokens + brain_tokens_count(user);
    /* One render per dropped item: contexts are bounded (tens of items), so this stays cheap and
     * the count is exact rather than estimated per section. */
    while (in->token_budget > 0 && tokens > in->token_budget && drop_one(c, &k)) {
        free(user);
        user = render(in, &k, &shortened);
        if (!user) {
            free(sys);
            return -1;
        }
        tokens = sys_tokens + brain_tokens_count(user);
    }
    out->system = sys;
    out->user = user;
    out->tokens = tokens;
    out->dropped_messages = k.msg_from;
    out->dropped_images = c->n_images - k.images;
    out->dropped_memory = k.rel_skip + k.pref_skip;
    out->shortened_scenes = shortened;
    out->truncated = out->dropped_messages || out->dropped_images || out->dropped_memory || shortened;
    out->over_budget = in->token_budget > 0 && tokens > in->token_budget;
    if (out->over_budget)
        snprintf(out->why, sizeof out->why,
                 "the prompt needs about %lld tokens, over the budget of %lld even with the conversation, image "
                 "facts and memory left out and scene names shortened",
                 tokens, in->token_budget);
    return 0;
}

void brain_prompt_clear(brain_prompt *p) {
    free(p->system);
    free(p->user);
    memset(p, 0, sizeof *p);
}
