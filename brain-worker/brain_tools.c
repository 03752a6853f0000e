#include "brain_tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_embed.h"
#include "bf_json_check.h"
#include "bf_json_schema.h"
#include "brain_strbuf.h"

/* Generated from schemas/tools/ by cmake/embed_files.cmake. */
extern const bf_embedded_file brain_tool_schema_files[];
extern const size_t brain_tool_schema_files_n;

struct brain_tools {
    bf_json_schema *schema[BRAIN_TOOL_COUNT];
    /* Printed once at start: every LLM request carries them, and duplicating and printing nine
     * schemas per request (cJSON's number round-trip included) was a large part of a decision's
     * CPU on the loop thread. */
    char *openai_json;
    char *prompt_list;
};

static const char *const complexity_names[] = {"surgical", "creative", "structural"};

const char *brain_tools_function_name(brain_tool t) {
    return t == BRAIN_TOOL_CLARIFY ? "askClarification" : brain_tool_name(t);
}

int brain_tools_function_parse(const char *name, brain_tool *out) {
    if (name && strcmp(name, "askClarification") == 0) {
        *out = BRAIN_TOOL_CLARIFY;
        return 0;
    }
    return brain_tool_parse(name, out);
}

brain_tools *brain_tools_new(char *err, size_t errlen) {
    brain_tools *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < brain_tool_schema_files_n; i++) {
        const bf_embedded_file *f = &brain_tool_schema_files[i];
        char why[512];
        bf_json_schema *s = bf_json_schema_new(f->data, f->len, why, sizeof why);
        if (!s) {
            snprintf(err, errlen, "schemas/tools/%s: %s", f->name, why);
            goto fail;
        }
        const cJSON *title = cJSON_GetObjectItemCaseSensitive(bf_json_schema_doc(s), "title");
        brain_tool tool;
        size_t stem = strlen(f->name) - (sizeof ".json" - 1);
        if (!cJSON_IsString(title) || brain_tools_function_parse(title->valuestring, &tool) != 0 ||
            strlen(title->valuestring) != stem || strncmp(title->valuestring, f->name, stem) != 0 ||
            t->schema[tool]) {
            snprintf(err, errlen, "schemas/tools/%s: title must be the file's tool name, one of the nine", f->name);
            bf_json_schema_free(s);
            goto fail;
        }
        t->schema[tool] = s;
    }
    for (int i = 0; i < BRAIN_TOOL_COUNT; i++) {
        if (!t->schema[i]) {
            snprintf(err, errlen, "schemas/tools/%s.json is missing", brain_tools_function_name((brain_tool)i));
            goto fail;
        }
    }
    cJSON *arr = brain_tools_openai_new(t);
    t->openai_json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    t->prompt_list = brain_tools_prompt_new(t);
    if (!t->openai_json || !t->prompt_list) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return t;
fail:
    brain_tools_free(t);
    return NULL;
}

void brain_tools_free(brain_tools *t) {
    if (!t) return;
    for (int i = 0; i < BRAIN_TOOL_COUNT; i++) bf_json_schema_free(t->schema[i]);
    free(t->openai_json);
    free(t->prompt_list);
    free(t);
}

static const cJSON *doc_of(const brain_tools *t, brain_tool tool) { return bf_json_schema_doc(t->schema[tool]); }

static const char *description_of(const brain_tools *t, brain_tool tool) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc_of(t, tool), "description");
    return cJSON_IsString(d) ? d->valuestring : "";
}

/* The schema as the model gets it: without the document's own identity ($schema, $id, title,
 * description: the function carries name and description). */
static cJSON *parameters_new(const brain_tools *t, brain_tool tool) {
    cJSON *p = cJSON_Duplicate(doc_of(t, tool), true);
    static const char *const drop[] = {"$schema", "$id", "title", "description"};
    for (size_t i = 0; p && i < sizeof drop / sizeof drop[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(p, drop[i]);
    return p;
}

cJSON *brain_tools_openai_new(const brain_tools *t) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < BRAIN_TOOL_COUNT; i++) {
        cJSON *tool = cJSON_CreateObject();
        cJSON *fn = tool ? cJSON_AddObjectToObject(tool, "function") : NULL;
        cJSON *params = parameters_new(t, (brain_tool)i);
        if (!tool || !fn || !params || !cJSON_AddStringToObject(tool, "type", "function") ||
            !cJSON_AddStringToObject(fn, "name", brain_tools_function_name((brain_tool)i)) ||
            !cJSON_AddStringToObject(fn, "description", description_of(t, (brain_tool)i))) {
            cJSON_Delete(tool);
            cJSON_Delete(params);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToObject(fn, "parameters", params);
        cJSON_AddItemToArray(arr, tool);
    }
    return arr;
}

const char *brain_tools_openai_json(const brain_tools *t) { return t->openai_json; }

const char *brain_tools_prompt_list(const brain_tools *t) { return t->prompt_list; }

char *brain_tools_prompt_new(const brain_tools *t) {
    brain_strbuf b = {0};
    for (int i = 0; i < BRAIN_TOOL_COUNT; i++) {
        cJSON *params = parameters_new(t, (brain_tool)i);
        char *text = params ? cJSON_PrintUnformatted(params) : NULL;
        cJSON_Delete(params);
        if (!text) {
            brain_strbuf_free(&b);
            return NULL;
        }
        brain_strbuf_printf(&b, "- %s: %s\n  arguments (JSON Schema): %s\n", brain_tools_function_name((brain_tool)i),
                            description_of(t, (brain_tool)i), text);
        free(text);
    }
    return brain_strbuf_take(&b);
}

double brain_tools_bound(const brain_tools *t, brain_tool tool, const char *property, const char *keyword,
                         double dflt) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(doc_of(t, tool), "properties"), property);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, keyword);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* ---- semantic checks ------------------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "s1, s2, s3" (the first few), for messages that tell the model what it may use. */
static void scene_list(const brain_context *ctx, char *out, size_t outlen) {
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ctx->n_scenes && n < outlen; i++) {
        int w = i < 20 ? snprintf(out + n, outlen - n, "%s%s", i ? ", " : "", ctx->scenes[i].id)
                       : snprintf(out + n, outlen - n, ", ...");
        if (w < 0 || (size_t)w >= outlen - n || i >= 20) break;
        n += (size_t)w;
    }
}

static void image_list(const brain_tool_env *env, char *out, size_t outlen) {
    size_t n = 0, k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < env->n_request_images && n < outlen; i++, k++) {
        int w = snprintf(out + n, outlen - n, "%s%s", k ? ", " : "", env->request_images[i]);
        if (w < 0 || (size_t)w >= outlen - n) return;
        n += (size_t)w;
    }
    for (size_t i = 0; env->ctx && i < env->ctx->n_images; i++)
        for (size_t u = 0; u < env->ctx->images[i].urls.n && k < 10; u++, k++) {
            int w = snprintf(out + n, outlen - n, "%s%s", k ? ", " : "", env->ctx->images[i].urls.v[u]);
            if (w < 0 || (size_t)w >= outlen - n) return;
            n += (size_t)w;
        }
}

static int check_scene(const brain_tool_env *env, const char *id, char *err, size_t errlen) {
    if (strlen(id) >= sizeof ((brain_answer *)0)->target_scene || !bf_ident_valid(id))
        return fail(err, errlen, "arguments.scene_id: \"%.100s\" is not a scene id", id);
    if (!env->scenes_known || !env->ctx) return 0;
    if (brain_context_find_scene(env->ctx, id)) return 0;
    if (!env->ctx->n_scenes)
        return fail(err, errlen, "arguments.scene_id: the storyboard is empty, so there is no scene \"%.100s\"; add a "
                                 "scene or ask the user",
                    id);
    char list[600];
    scene_list(env->ctx, list, sizeof list);
    return fail(err, errlen, "arguments.scene_id: \"%.100s\" is not a scene of the storyboard (scenes: %s)", id, list);
}

static int check_image(const brain_tool_env *env, const char *url, char *err, size_t errlen) {
    for (size_t i = 0; i < env->n_request_images; i++)
        if (env->request_images[i] && strcmp(env->request_images[i], url) == 0) return 0;
    if (env->ctx && brain_context_has_image_url(env->ctx, url)) return 0;
    /* A degraded packet does not know the project's images: any real URL may be one of them. */
    if (!env->scenes_known && bf_url_valid(url, 2048)) return 0;
    char list[1200];
    image_list(env, list, sizeof list);
    if (!list[0])
        return fail(err, errlen,
                    "arguments.image_url: \"%.200s\" is not an image of this request or the project, and there are "
                    "none: use a tool without an image, or askClarification to ask for one",
                    url);
    return fail(err, errlen, "arguments.image_url: \"%.200s\" is not one of this request's or the project's images (%s)",
                url, list);
}

static int check_duration(const brain_tools *t, const brain_tool_env *env, const cJSON *args, const char *scene,
                          char *err, size_t errlen) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(args, "duration_ms");
    const cJSON *delta = cJSON_GetObjectItemCaseSensitive(args, "delta_ms");
    if (!d == !delta) return fail(err, errlen, "arguments: give exactly one of duration_ms or delta_ms");
    if (!delta) return 0;
    if (delta->valuedouble == 0) return fail(err, errlen, "arguments.delta_ms: 0 would change nothing");
    const brain_scene *s = env->scenes_known && env->ctx ? brain_context_find_scene(env->ctx, scene) : NULL;
    if (!s) return 0;
    double lo = brain_tools_bound(t, BRAIN_TOOL_CHANGE_DURATION, "duration_ms", "minimum", 0);
    double hi = brain_tools_bound(t, BRAIN_TOOL_CHANGE_DURATION, "duration_ms", "maximum", 1e12);
    double after = (double)s->duration_ms + delta->valuedouble;
    if (after < lo || after > hi)
        return fail(err, errlen,
                    "arguments.delta_ms: scene %s is %lld ms long and %lld ms + (%.0f ms) = %.0f ms is outside "
                    "%.0f..%.0f ms",
                    scene, s->duration_ms, s->duration_ms, delta->valuedouble, after, lo, hi);
    return 0;
}

static int check_position(const brain_tool_env *env, const cJSON *args, char *err, size_t errlen) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "position");
    if (!p || !env->scenes_known || !env->ctx) return 0;
    if (p->valuedouble > (double)env->ctx->n_scenes + 1)
        return fail(err, errlen,
                    "arguments.position: %.0f is past the end of the storyboard (%zu scenes: at most %zu; leave it "
                    "out to append)",
                    p->valuedouble, env->ctx->n_scenes, env->ctx->n_scenes + 1);
    return 0;
}

static const char *str_arg(const cJSON *args, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static brain_call_result to_answer(brain_tool tool, cJSON *args, brain_answer *out) {
    const char *scene = str_arg(args, "scene_id");
    if (scene) snprintf(out->target_scene, sizeof out->target_scene, "%s", scene);
    const char *cx = str_arg(args, "edit_complexity");
    for (int i = 0; cx && i < 3; i++)
        if (strcmp(cx, complexity_names[i]) == 0) out->edit_complexity = i + 1;
    const char *summary = tool == BRAIN_TOOL_CLARIFY ? str_arg(args, "reason") : str_arg(args, "summary");
    const char *question = str_arg(args, "question");
    out->tool = tool;
    out->summary = strdup(summary ? summary : question ? question : "");
    if (!out->summary) return BRAIN_CALL_NO_MEMORY;
    if (tool == BRAIN_TOOL_CLARIFY) {
        out->question = strdup(question ? question : "");
        return out->question ? BRAIN_CALL_OK : BRAIN_CALL_NO_MEMORY;
    }
    static const char *const lifted[] = {"scene_id", "summary", "edit_complexity"};
    for (size_t i = 0; i < sizeof lifted / sizeof lifted[0]; i++) cJSON_DeleteItemFromObjectCaseSensitive(args, lifted[i]);
    out->params = cJSON_Duplicate(args, true);
    return out->params ? BRAIN_CALL_OK : BRAIN_CALL_NO_MEMORY;
}

brain_call_result brain_tools_check_call(const brain_tools *t, const char *name, const cJSON *args,
                                         const brain_tool_env *env, brain_answer *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    brain_tool tool;
    if (brain_tools_function_parse(name, &tool) != 0) {
        fail(err, errlen, "unknown function \"%.80s\": call one of addScene, editScene, deleteScene, fixBrokenScene, "
                          "analyzeImage, createSceneFromImage, editSceneWithImage, changeDuration, askClarification",
             name ? name : "(none)");
        return BRAIN_CALL_UNKNOWN_TOOL;
    }
    cJSON *a = cJSON_Duplicate(args, true);
    if (!a) {
        if (!args) fail(err, errlen, "arguments: missing");
        return args ? BRAIN_CALL_NO_MEMORY : BRAIN_CALL_INVALID_ARGUMENTS;
    }
    brain_call_result r = BRAIN_CALL_INVALID_ARGUMENTS;
    if (cJSON_IsObject(a) && brain_tool_needs_scene(tool) && !cJSON_GetObjectItemCaseSensitive(a, "scene_id") &&
        env->selected_scene && *env->selected_scene &&
        !cJSON_AddStringToObject(a, "scene_id", env->selected_scene)) {
        r = BRAIN_CALL_NO_MEMORY;
        goto done;
    }
    if (bf_json_schema_check(t->schema[tool], NULL, a, "arguments", err, errlen) != 0) goto done;
    const char *scene = str_arg(a, "scene_id");
    const char *image = str_arg(a, "image_url");
    if (scene && check_scene(env, scene, err, errlen) != 0) goto done;
    if (image && check_image(env, image, err, errlen) != 0) goto done;
    if (tool == BRAIN_TOOL_CHANGE_DURATION && check_duration(t, env, a, scene, err, errlen) != 0) goto done;
    if (check_position(env, a, err, errlen) != 0) goto done;
    r = to_answer(tool, a, out);
    if (r == BRAIN_CALL_NO_MEMORY) fail(err, errlen, "out of memory");
done:
    cJSON_Delete(a);
    if (r != BRAIN_CALL_OK) brain_answer_clear(out);
    return r;
}

cJSON *brain_tools_arguments_new(brain_tool tool, const char *target_scene, brain_complexity ec, const char *summary,
                                 const char *question, const cJSON *params) {
    cJSON *a = cJSON_IsObject(params) ? cJSON_Duplicate(params, true) : cJSON_CreateObject();
    if (!a) return NULL;
    bool ok = true;
    if (tool == BRAIN_TOOL_CLARIFY) {
        ok = cJSON_AddStringToObject(a, "question", question ? question : "") != NULL;
        if (ok && summary && *summary) ok = cJSON_AddStringToObject(a, "reason", summary) != NULL;
    } else {
        if (target_scene && *target_scene) ok = cJSON_AddStringToObject(a, "scene_id", target_scene) != NULL;
        if (ok && ec >= 1 && ec <= 3) ok = cJSON_AddStringToObject(a, "edit_complexity", complexity_names[ec - 1]) != NULL;
        if (ok) ok = cJSON_AddStringToObject(a, "summary", summary ? summary : "") != NULL;
    }
    if (ok) return a;
    cJSON_Delete(a);
    return NULL;
}

static brain_call_result check_one(const brain_tools *t, brain_tool tool, const char *scene, brain_complexity ec,
                                   const char *summary, const char *question, const cJSON *params,
                                   const brain_tool_env *env, char *err, size_t errlen) {
    cJSON *args = brain_tools_arguments_new(tool, scene, ec, summary, question, params);
    if (!args) return BRAIN_CALL_NO_MEMORY;
    /* The selected scene must not stand in for a missing target here: what is checked is what
     * would be published. */
    brain_tool_env e = *env;
    e.selected_scene = NULL;
    brain_answer scratch;
    brain_call_result r = brain_tools_check_call(t, brain_tools_function_name(tool), args, &e, &scratch, err, errlen);
    brain_answer_clear(&scratch);
    cJSON_Delete(args);
    return r;
}

brain_call_result brain_tools_check_answer(const brain_tools *t, const brain_answer *a, const brain_tool_env *env,
                                           char *err, size_t errlen) {
    brain_call_result r = check_one(t, a->tool, a->target_scene, a->edit_complexity, a->summary, a->question,
                                    a->params, env, err, errlen);
    for (size_t i = 0; r == BRAIN_CALL_OK && i < a->n_then; i++) {
        const brain_step *s = &a->then[i];
        r = check_one(t, s->tool, s->target_scene, s->edit_complexity, s->summary, NULL, s->params, env, err, errlen);
    }
    return r;
}
