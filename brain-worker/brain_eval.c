#include "brain_eval.h"

#include <stdlib.h>
#include <string.h>

#include "brain_rules.h"
#include "brain_tools.h"

#define MAX_STEPS 16
#define MAX_IMAGES 8

typedef struct eval_case {
    const char *id, *prompt, *selected;
    const char *images[MAX_IMAGES];
    size_t n_images;
    brain_tool expect[MAX_STEPS];
    const char *target[MAX_STEPS]; /* NULL: any */
    size_t n_expect;
    brain_tool also[BRAIN_TOOL_COUNT];
    size_t n_also;
} eval_case;

struct brain_eval_set {
    cJSON *doc; /* owns every string the cases point at */
    brain_context ctx;
    eval_case *cases;
    size_t n;
};

static int fail(char *err, size_t errlen, const char *id, const char *why) {
    snprintf(err, errlen, "case %s: %s", id ? id : "?", why);
    return -1;
}

static const char *str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int tool_of(const cJSON *v, brain_tool *out) {
    return cJSON_IsString(v) ? brain_tools_function_parse(v->valuestring, out) : -1;
}

/* The set's storyboard, images and preferences as the context document brain_context_parse reads. */
static int load_context(const cJSON *doc, brain_context *ctx, char *err, size_t errlen) {
    cJSON *c = cJSON_CreateObject();
    cJSON *images = c ? cJSON_AddArrayToObject(c, "images") : NULL;
    const cJSON *sb = cJSON_GetObjectItemCaseSensitive(doc, "storyboard");
    const cJSON *prefs = cJSON_GetObjectItemCaseSensitive(doc, "preferences");
    bool ok = images && cJSON_AddItemToObject(c, "scenes", cJSON_Duplicate(sb, true)) &&
              (!prefs || cJSON_AddItemToObject(c, "preferences", cJSON_Duplicate(prefs, true)));
    const cJSON *im;
    cJSON_ArrayForEach(im, cJSON_GetObjectItemCaseSensitive(doc, "project_images")) {
        cJSON *e = cJSON_CreateObject();
        const cJSON *facts = cJSON_GetObjectItemCaseSensitive(im, "facts");
        cJSON *f = cJSON_IsObject(facts) ? cJSON_Duplicate(facts, true) : cJSON_CreateObject();
        cJSON *urls = f ? cJSON_AddArrayToObject(f, "image_urls") : NULL;
        ok = ok && e && urls && str(im, "url") && cJSON_AddItemToArray(urls, cJSON_CreateString(str(im, "url"))) &&
             cJSON_AddStringToObject(e, "trace_id", str(im, "trace_id") ? str(im, "trace_id") : "") &&
             cJSON_AddStringToObject(e, "created_at", "earlier");
        if (f && e) cJSON_AddItemToObject(e, "facts", f);
        else cJSON_Delete(f);
        if (e) cJSON_AddItemToArray(images, e);
    }
    char *text = ok ? cJSON_PrintUnformatted(c) : NULL;
    cJSON_Delete(c);
    if (!text) {
        snprintf(err, errlen, "out of memory, or a project image without url");
        return -1;
    }
    int r = brain_context_parse(text, strlen(text), ctx, err, errlen);
    free(text);
    return r;
}

static int load_case(const brain_eval_set *s, const cJSON *o, eval_case *c, char *err, size_t errlen) {
    c->id = str(o, "id");
    c->prompt = str(o, "prompt");
    c->selected = str(o, "selected_scene");
    if (!c->id || !c->prompt) return fail(err, errlen, c->id, "needs an id and a prompt");
    if (c->selected && !brain_context_find_scene(&s->ctx, c->selected))
        return fail(err, errlen, c->id, "selected_scene is not in the storyboard");
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "images")) {
        if (!cJSON_IsString(v) || c->n_images == MAX_IMAGES) return fail(err, errlen, c->id, "bad images");
        c->images[c->n_images++] = v->valuestring;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "expect");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "target");
    if (cJSON_IsString(e)) {
        if (tool_of(e, &c->expect[0]) != 0) return fail(err, errlen, c->id, "expect is not a tool");
        c->n_expect = 1;
        c->target[0] = cJSON_IsString(t) ? t->valuestring : NULL;
    } else {
        cJSON_ArrayForEach(v, e) {
            if (c->n_expect == MAX_STEPS || tool_of(v, &c->expect[c->n_expect]) != 0)
                return fail(err, errlen, c->id, "expect lists a non-tool");
            const cJSON *ti = cJSON_GetArrayItem(t, (int)c->n_expect);
            c->target[c->n_expect++] = cJSON_IsString(ti) ? ti->valuestring : NULL;
        }
        if (c->n_expect < 2) return fail(err, errlen, c->id, "expect is a tool or a list of at least two");
    }
    for (size_t i = 0; i < c->n_expect; i++)
        if (c->target[i] && !brain_context_find_scene(&s->ctx, c->target[i]))
            return fail(err, errlen, c->id, "target is not in the storyboard");
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(o, "also_ok")) {
        if (c->n_also == BRAIN_TOOL_COUNT || tool_of(v, &c->also[c->n_also++]) != 0)
            return fail(err, errlen, c->id, "also_ok lists a non-tool");
    }
    return 0;
}

brain_eval_set *brain_eval_load(const char *json, size_t len, char *err, size_t errlen) {
    brain_eval_set *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->doc = cJSON_ParseWithLength(json, len);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(s->doc, "cases");
    if (!cJSON_IsArray(cases) || cJSON_GetArraySize(cases) == 0) {
        snprintf(err, errlen, "not an eval set: no \"cases\" array");
        goto fail;
    }
    if (load_context(s->doc, &s->ctx, err, errlen) != 0) goto fail;
    s->cases = calloc((size_t)cJSON_GetArraySize(cases), sizeof *s->cases);
    if (!s->cases) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, cases) {
        if (load_case(s, o, &s->cases[s->n], err, errlen) != 0) goto fail;
        s->n++;
    }
    return s;
fail:
    brain_eval_free(s);
    return NULL;
}

void brain_eval_free(brain_eval_set *s) {
    if (!s) return;
    brain_context_clear(&s->ctx);
    cJSON_Delete(s->doc);
    free(s->cases);
    free(s);
}

size_t brain_eval_count(const brain_eval_set *s) { return s->n; }

int brain_eval_rules(void *impl, const brain_eval_case *c, brain_answer *out, char *path, size_t pathlen) {
    const bool *fallback = impl;
    brain_rules_input in = {.prompt = c->prompt, .n_images = c->n_images, .selected_scene = c->selected_scene,
                            .image_urls = c->images, .ctx = c->ctx, .fallback = *fallback};
    snprintf(path, pathlen, "%s", *fallback ? "fallback" : "rules");
    return brain_rules_decide(&in, out);
}

/* ---- scoring ---------------------------------------------------------------------------------- */

typedef struct decided {
    brain_tool tool[MAX_STEPS + 1];
    const char *target[MAX_STEPS + 1];
    size_t n;
} decided;

static void flatten(const brain_answer *a, decided *d) {
    d->n = 0;
    d->tool[d->n] = a->tool;
    d->target[d->n++] = a->target_scene;
    for (size_t i = 0; i < a->n_then && d->n <= MAX_STEPS; i++) {
        d->tool[d->n] = a->then[i].tool;
        d->target[d->n++] = a->then[i].target_scene;
    }
}

static bool right(const eval_case *c, const decided *d) {
    if (d->n == 1)
        for (size_t i = 0; i < c->n_also; i++)
            if (c->also[i] == d->tool[0]) return true;
    if (d->n != c->n_expect) return false;
    for (size_t i = 0; i < d->n; i++)
        if (d->tool[i] != c->expect[i] || (c->target[i] && strcmp(c->target[i], d->target[i]) != 0)) return false;
    return true;
}

/* A delete or duration change the labels do not ask for at that step, on that scene. */
static bool destructive_miss(const eval_case *c, const decided *d) {
    for (size_t i = 0; i < d->n; i++) {
        if (!brain_tool_destructive(d->tool[i])) continue;
        bool labelled = false;
        for (size_t k = 0; k < c->n_expect; k++)
            if (c->expect[k] == d->tool[i] && (!c->target[k] || strcmp(c->target[k], d->target[i]) == 0))
                labelled = true;
        if (!labelled) return true;
    }
    return false;
}

static void describe(const decided *d, char *out, size_t outlen) {
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->n && n < outlen; i++) {
        int w = snprintf(out + n, outlen - n, "%s%s%s%s%s", i ? ", " : "", brain_tools_function_name(d->tool[i]),
                         d->target[i][0] ? "(" : "", d->target[i], d->target[i][0] ? ")" : "");
        if (w < 0) break;
        n += (size_t)w;
    }
}

static void count_path(brain_eval_report *rep, const char *path) {
    for (size_t i = 0; i < rep->n_paths; i++)
        if (strcmp(rep->paths[i], path) == 0) {
            rep->path_counts[i]++;
            return;
        }
    size_t i = rep->n_paths < BRAIN_EVAL_PATHS ? rep->n_paths++ : BRAIN_EVAL_PATHS - 1;
    snprintf(rep->paths[i], sizeof rep->paths[i], "%s", rep->n_paths == BRAIN_EVAL_PATHS ? "other" : path);
    rep->path_counts[i]++;
}

int brain_eval_run(const brain_eval_set *s, brain_eval_decide_fn decide, void *impl, brain_eval_report *rep,
                   FILE *misses) {
    memset(rep, 0, sizeof *rep);
    for (size_t i = 0; i < s->n; i++) {
        const eval_case *c = &s->cases[i];
        brain_eval_case view = {.id = c->id, .prompt = c->prompt, .selected_scene = c->selected,
                                .images = c->images, .n_images = c->n_images, .ctx = &s->ctx};
        brain_answer a;
        memset(&a, 0, sizeof a);
        char path[160] = "";
        int r = decide(impl, &view, &a, path, sizeof path);
        size_t label = c->n_expect > 1 ? BRAIN_TOOL_COUNT : (size_t)c->expect[0];
        rep->total++;
        rep->per_total[label]++;
        if (r != 0) {
            rep->failed++;
            count_path(rep, "failed");
            if (misses) fprintf(misses, "FAILED  %-28s %s\n", c->id, path);
            brain_answer_clear(&a);
            continue;
        }
        count_path(rep, path[0] ? path : "unnamed");
        decided d;
        flatten(&a, &d);
        bool ok = right(c, &d), destructive = destructive_miss(c, &d);
        if (ok) {
            rep->correct++;
            rep->per_correct[label]++;
        }
        if (destructive) rep->destructive_misses++;
        if ((!ok || destructive) && misses) {
            char got[400], want[400];
            describe(&d, got, sizeof got);
            decided w = {.n = c->n_expect};
            for (size_t k = 0; k < c->n_expect; k++) {
                w.tool[k] = c->expect[k];
                w.target[k] = c->target[k] ? c->target[k] : "";
            }
            describe(&w, want, sizeof want);
            fprintf(misses, "%s %-28s \"%s\": got %s, expected %s\n", destructive ? "DESTRUCTIVE" : "WRONG      ", c->id,
                    c->prompt, got, want);
        }
        brain_answer_clear(&a);
    }
    return 0;
}

double brain_eval_accuracy(const brain_eval_report *rep) {
    return rep->total ? 100.0 * (double)rep->correct / (double)rep->total : 0;
}

void brain_eval_print(const brain_eval_report *rep, FILE *out) {
    fprintf(out, "accuracy: %zu/%zu (%.1f %%)\n", rep->correct, rep->total, brain_eval_accuracy(rep));
    fprintf(out, "destructive misses: %zu\n", rep->destructive_misses);
    if (rep->failed) fprintf(out, "no decision: %zu\n", rep->failed);
    fprintf(out, "per expected tool:\n");
    for (size_t i = 0; i <= BRAIN_TOOL_COUNT; i++) {
        if (!rep->per_total[i]) continue;
        fprintf(out, "  %-22s %3zu/%-3zu %5.1f %%\n", i == BRAIN_TOOL_COUNT ? "workflow" : brain_tools_function_name((brain_tool)i),
                rep->per_correct[i], rep->per_total[i], 100.0 * (double)rep->per_correct[i] / (double)rep->per_total[i]);
    }
    fprintf(out, "decision paths:\n");
    for (size_t i = 0; i < rep->n_paths; i++) fprintf(out, "  %-28s %zu\n", rep->paths[i], rep->path_counts[i]);
}
