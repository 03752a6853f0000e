#include "fleet_editor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_sha256.h"
#include "bf_uuid.h"
#include "fleet_editor_text.h"

/* One application: where its events go and how their ids are named. */
typedef struct run {
    fleet_storyboards *sb;
    fleet_project *p;
    const bf_msg_brain_decision *d;
    const fleet_editor_opts *o;
    fleet_editor_out *out;
    char scope[96];  /* the tool call (or enrichment) the events belong to, for derived ids */
    char *err;
    size_t errlen;
} run;

/* What a tool call came to. */
typedef enum { CALL_APPLIED = 0, CALL_FAILED } call_result;

static int fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

void fleet_editor_new_scene_id(const char *request_id, size_t step, char out[BF_ID_MAX + 1]) {
    char name[64], hex[BF_SHA256_HEX_LEN + 1];
    int n = snprintf(name, sizeof name, "%s:%zu", request_id, step);
    bf_sha256_hex(name, n < 0 ? 0 : (size_t)n, hex);
    snprintf(out, BF_ID_MAX + 1, "scene-%.12s", hex);
}

void fleet_editor_out_free(fleet_editor_out *out) {
    for (size_t i = 0; i < out->n_events; i++) bf_msg_editor_event_free(&out->events[i]);
    free(out->events);
    free(out->error);
    memset(out, 0, sizeof *out);
}

/* A new event of kind for this run: envelope filled (derived id, the decision's trace), brain
 * origin fields set when step >= 0. Owned by the caller until emit(). */
static void event_init(run *r, bf_msg_editor_event *ev, bf_editor_event_kind kind, long step, bool with_tool,
                       bf_tool tool) {
    memset(ev, 0, sizeof *ev);
    ev->event = kind;
    ev->step = -1;
    ev->origin = BF_ORIGIN_BRAIN;
    snprintf(ev->request_id, sizeof ev->request_id, "%s", r->d->request_id);
    if (step >= 0 && kind != BF_EDITOR_DECISION_APPLIED && kind != BF_EDITOR_DECISION_FAILED) {
        ev->step = step;
        ev->has_tool = with_tool;
        ev->tool = tool;
    }
}

/* What an event is about, for its derived id: the same change computed again (a decision resumed
 * after a crash) gets the same id, a different one never does. */
static void event_name(const run *r, const bf_msg_editor_event *ev, char *out, size_t outlen) {
    const char *about = "";
    int64_t version = 0;
    if (ev->event == BF_EDITOR_SCENES_REORDERED && ev->n_order) {
        about = ev->order[0].scene_id;
        version = ev->order[0].version;
    } else if (bf_editor_event_is_scene(ev->event)) {
        about = ev->scene.scene_id;
        version = ev->scene.version;
    }
    snprintf(out, outlen, "fleetctl-editor:%s:%s:%s:%s:%s:%lld", r->d->env.project_id, r->d->request_id, r->scope,
             bf_editor_event_kind_name(ev->event), about, (long long)version);
}

/* Completes ev's envelope, checks it encodes under the contract, folds it into the storyboard and
 * appends it to the output (which takes ev's memory, also on failure). */
static int emit(run *r, bf_msg_editor_event *ev) {
    char name[600];
    event_name(r, ev, name, sizeof name);
    bf_envelope *env = &ev->env;
    snprintf(env->schema, sizeof env->schema, "%s", BF_SCHEMA_EDITOR_EVENTS);
    env->schema_version = BF_SCHEMA_VERSION;
    bf_uuid_v7_derived(r->d->env.produced_at_ms, name, env->event_id);
    memcpy(env->trace_id, r->d->env.trace_id, sizeof env->trace_id);
    snprintf(env->project_id, sizeof env->project_id, "%s", r->d->env.project_id);
    env->produced_at_ms = r->o->now_ms;
    snprintf(env->producer, sizeof env->producer, "%s", r->o->producer);
    char e[512];
    char *json = bf_msg_editor_event_encode(ev, e, sizeof e);
    int rc = 0;
    if (!json) rc = fail(r, "%s event refused by the contract: %s", bf_editor_event_kind_name(ev->event), e);
    free(json);
    fleet_editor_out *o = r->out;
    if (rc == 0 && o->n_events == o->cap_events) {
        size_t cap = o->cap_events ? o->cap_events * 2 : 8;
        bf_msg_editor_event *n = realloc(o->events, cap * sizeof *n);
        if (!n) rc = fail(r, "out of memory");
        else {
            o->events = n;
            o->cap_events = cap;
        }
    }
    if (rc == 0 && fleet_storyboard_apply(r->sb, ev) != 0) rc = fail(r, "out of memory");
    if (rc != 0) {
        bf_msg_editor_event_free(ev);
        return -1;
    }
    o->events[o->n_events++] = *ev;
    if (bf_editor_event_is_scene(ev->event)) o->changes++;
    memset(ev, 0, sizeof *ev);
    return 0;
}

/* A scene event with the scene's whole state after the change. */
static int emit_state(run *r, bf_editor_event_kind kind, long step, bf_tool tool, const char *id, const char *name,
                      int64_t position, int64_t duration_ms, const char *description, int64_t version,
                      const char *image_url) {
    bf_msg_editor_event ev;
    event_init(r, &ev, kind, step, true, tool);
    ev.scene.scene_id = strdup(id);
    ev.scene.name = strdup(name);
    ev.scene.description = strdup(description ? description : "");
    ev.scene.position = position;
    ev.scene.duration_ms = duration_ms;
    ev.scene.version = version;
    if (image_url) {
        ev.from_image.present = true;
        ev.from_image.url = strdup(image_url);
    }
    if (!ev.scene.scene_id || !ev.scene.name || !ev.scene.description || (image_url && !ev.from_image.url)) {
        bf_msg_editor_event_free(&ev);
        return fail(r, "out of memory");
    }
    return emit(r, &ev);
}

/* Gives every live scene its index as position, leaving index hole (-1: none) free for a scene
 * about to be inserted: one scenes_reordered (per BF_REORDER_MAX) with each scene that moves. */
static int place(run *r, long step, long hole) {
    size_t n;
    bool oom;
    fleet_scene **v = fleet_project_order(r->p, &n, &oom);
    if (oom) return fail(r, "out of memory");
    bf_msg_editor_event ev;
    event_init(r, &ev, BF_EDITOR_SCENES_REORDERED, step, false, BF_TOOL_ADD_SCENE);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t want = (int64_t)i + (hole >= 0 && (long)i >= hole);
        if (v[i]->position == want) continue;
        if (!ev.order && !(ev.order = calloc(BF_REORDER_MAX, sizeof *ev.order))) {
            rc = fail(r, "out of memory");
            break;
        }
        bf_editor_position *o = &ev.order[ev.n_order++];
        o->position = want;
        o->version = v[i]->version + 1;
        if (!(o->scene_id = strdup(v[i]->id))) rc = fail(r, "out of memory");
        if (rc == 0 && ev.n_order == BF_REORDER_MAX) {
            /* emit() folds it: the positions already set do not come round again. */
            rc = emit(r, &ev);
            event_init(r, &ev, BF_EDITOR_SCENES_REORDERED, step, false, BF_TOOL_ADD_SCENE);
        }
    }
    free(v);
    if (rc == 0 && ev.n_order) return emit(r, &ev);
    bf_msg_editor_event_free(&ev);
    return rc;
}

static const char *str_in(const cJSON *in, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static bool int_in(const cJSON *in, const char *key, long long *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble) return false;
    *out = (long long)v->valuedouble;
    return true;
}

static int64_t clamp(long long v, long long lo, long long hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The image a call names, when it is a URL (an old decision may name an image trace id). */
static const char *image_of(const cJSON *in) {
    const char *u = str_in(in, "image_url");
    return u && bf_url_valid(u, BF_URL_MAX) ? u : NULL;
}

/* A description line for an instruction, with a prefix. */
static char *instruction_line_new(const char *prefix, const cJSON *in) {
    const char *text = str_in(in, "instruction");
    if (!text) text = str_in(in, "summary");
    char *line = fleet_text_line_new(text ? text : "", FLEET_LINE_MAX);
    if (!line || !prefix) return line;
    size_t n = strlen(prefix) + strlen(line) + 3;
    char *joined = malloc(n);
    if (joined) snprintf(joined, n, "%s%s%s", prefix, *line ? ": " : "", line);
    free(line);
    return joined;
}

static call_result step_failed(bf_editor_step *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static call_result step_failed(bf_editor_step *st, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st->outcome = BF_STEP_FAILED;
    free(st->error);
    st->error = strdup(buf);
    return CALL_FAILED;
}

static int add(run *r, size_t k, const bf_tool_call *c, const cJSON *in, bf_editor_step *st, int *result) {
    bool from_image = c->tool == BF_TOOL_CREATE_SCENE_FROM_IMAGE;
    char id[BF_ID_MAX + 1];
    const char *given = str_in(in, "new_scene_id");
    if (given && bf_ident_valid(given)) snprintf(id, sizeof id, "%s", given);
    else fleet_editor_new_scene_id(r->d->request_id, k, id);
    if (fleet_project_live_scene(r->p, id)) {
        *result = step_failed(st, "scene \"%s\" is already in the storyboard", id);
        return 0;
    }
    size_t n;
    bool oom;
    free(fleet_project_order(r->p, &n, &oom));
    if (oom) return fail(r, "out of memory");
    if (n > BF_SCENE_POSITION_MAX) {
        *result = step_failed(st, "the storyboard is full (%d scenes)", BF_SCENE_POSITION_MAX + 1);
        return 0;
    }
    long long pos = 0;
    size_t at = int_in(in, "position", &pos) && pos >= 1 && (size_t)pos <= n ? (size_t)pos - 1 : n;
    long long ms = FLEET_DEFAULT_DURATION_MS;
    if (int_in(in, "duration_ms", &ms)) ms = clamp(ms, FLEET_DURATION_MIN_MS, FLEET_DURATION_MAX_MS);
    const char *image = from_image ? image_of(in) : NULL;
    char *name = from_image ? fleet_text_image_name_new(str_in(in, "name"), image, (long long)at)
                            : fleet_text_scene_name_new(str_in(in, "name"), str_in(in, "instruction"), (long long)at);
    char *line = instruction_line_new(NULL, in);
    char *desc = line ? fleet_text_describe_new(NULL, line) : NULL;
    const fleet_scene *old = fleet_project_scene(r->p, id); /* a tombstone: its versions go on */
    int64_t version = old ? old->version + 1 : 1;
    int rc = name && desc ? 0 : fail(r, "out of memory");
    /* Room first, then the scene: a crash between the two leaves a gap, never two scenes at one
     * place, and the scene_created is what says this call was applied. */
    if (rc == 0) rc = place(r, (long)k, (long)at);
    if (rc == 0)
        rc = emit_state(r, BF_EDITOR_SCENE_CREATED, (long)k, c->tool, id, name, (int64_t)at, ms, desc, version, image);
    free(name);
    free(line);
    free(desc);
    if (rc == 0 && !(st->scene_id = strdup(id))) rc = fail(r, "out of memory");
    *result = CALL_APPLIED;
    return rc;
}

static int change(run *r, size_t k, const bf_tool_call *c, const cJSON *in, fleet_scene *s, bf_editor_step *st,
                  int *result) {
    int64_t duration = s->duration_ms;
    char *name = strdup(s->name ? s->name : s->id);
    char *line = NULL, *desc = NULL;
    const char *image = NULL;
    int rc = name ? 0 : fail(r, "out of memory");
    *result = CALL_APPLIED;
    if (rc == 0 && c->tool == BF_TOOL_CHANGE_DURATION) {
        long long v;
        if (int_in(in, "duration_ms", &v)) duration = clamp(v, FLEET_DURATION_MIN_MS, FLEET_DURATION_MAX_MS);
        else if (int_in(in, "delta_ms", &v)) duration = clamp(s->duration_ms + v, FLEET_DURATION_MIN_MS, FLEET_DURATION_MAX_MS);
        else *result = step_failed(st, "changeDuration needs input.duration_ms or input.delta_ms");
        desc = *result == CALL_APPLIED ? strdup(s->description ? s->description : "") : NULL;
    } else if (rc == 0) {
        const char *given = str_in(in, "name");
        if (given) {
            free(name);
            name = fleet_text_line_new(given, BF_SCENE_NAME_MAX);
            if (name && !*name) {
                free(name);
                name = strdup(s->name ? s->name : s->id);
            }
        }
        char prefix[160];
        if (c->tool == BF_TOOL_EDIT_SCENE_WITH_IMAGE) {
            image = image_of(in);
            char *file = fleet_text_image_name_new(NULL, image, s->position);
            if (file) {
                /* "Warm sunset (image)" -> "Restyle after warm sunset" */
                char *paren = strstr(file, " (image)");
                if (paren) *paren = '\0';
                snprintf(prefix, sizeof prefix, "Restyle after %s", file);
            }
            free(file);
            if (!file) rc = fail(r, "out of memory");
        } else {
            snprintf(prefix, sizeof prefix, "%s", c->tool == BF_TOOL_FIX_BROKEN_SCENE ? "Fix" : "Edit");
        }
        if (rc == 0) line = instruction_line_new(prefix, in);
        desc = line ? fleet_text_describe_new(s->description, line) : NULL;
    }
    if (rc == 0 && *result == CALL_APPLIED && (!name || !desc)) rc = fail(r, "out of memory");
    if (rc == 0 && *result == CALL_APPLIED) {
        /* s may move when the storyboard grows: copy what the event needs first. */
        char *id = strdup(s->id);
        int64_t position = s->position, version = s->version + 1;
        rc = id ? emit_state(r, BF_EDITOR_SCENE_UPDATED, (long)k, c->tool, id, name, position, duration, desc, version,
                             NULL)
                : fail(r, "out of memory");
        if (rc == 0) rc = place(r, (long)k, -1);
        if (rc == 0 && image && fleet_project_mark_image(r->p, r->d->request_id, k, image) != 0)
            rc = fail(r, "out of memory");
        if (rc == 0 && !(st->scene_id = id)) rc = fail(r, "out of memory");
        else if (rc != 0) free(id);
    }
    free(name);
    free(line);
    free(desc);
    return rc;
}

static int delete_scene(run *r, size_t k, const bf_tool_call *c, fleet_scene *s, bf_editor_step *st) {
    bf_msg_editor_event ev;
    event_init(r, &ev, BF_EDITOR_SCENE_DELETED, (long)k, true, c->tool);
    ev.scene.scene_id = strdup(s->id);
    ev.scene.version = s->version + 1;
    if (!ev.scene.scene_id || !(st->scene_id = strdup(s->id))) {
        bf_msg_editor_event_free(&ev);
        return fail(r, "out of memory");
    }
    /* The deletion first: it says the call was applied; the scenes after it close up next. */
    if (emit(r, &ev) != 0) return -1;
    return place(r, (long)k, -1);
}

/* One tool call. Returns 0 with *result, or -1 (fatal, err set). */
static int apply_call(run *r, size_t k, const bf_tool_call *c, bf_editor_step *st, int *result) {
    st->step = (int64_t)k;
    st->tool = c->tool;
    st->outcome = BF_STEP_APPLIED;
    *result = CALL_APPLIED;
    snprintf(r->scope, sizeof r->scope, "step:%zu", k);
    const fleet_request_mark *m = fleet_project_mark(r->p, r->d->request_id);
    if (m && (m->done & (1u << k))) {
        /* Its event is in the log: applied before the editor stopped. */
        if (m->scene_ids[k] && !(st->scene_id = strdup(m->scene_ids[k]))) return fail(r, "out of memory");
        return 0;
    }
    cJSON *in = cJSON_Parse(c->input ? c->input : "{}");
    int rc = 0;
    if (c->tool == BF_TOOL_ADD_SCENE || c->tool == BF_TOOL_CREATE_SCENE_FROM_IMAGE) {
        rc = add(r, k, c, in, st, result);
    } else if (c->tool == BF_TOOL_ANALYZE_IMAGE) {
        /* Describing an image changes no scene: the call is applied as it is. */
    } else {
        const char *target = c->target_scene_id ? c->target_scene_id : str_in(in, "scene_id");
        fleet_scene *s = target ? fleet_project_live_scene(r->p, target) : NULL;
        if (!target) *result = step_failed(st, "%s names no scene", bf_tool_name(c->tool));
        else if (!s) *result = step_failed(st, "scene \"%.128s\" is not in the storyboard", target);
        else if (c->tool == BF_TOOL_DELETE_SCENE) rc = delete_scene(r, k, c, s, st);
        else rc = change(r, k, c, in, s, st, result);
    }
    cJSON_Delete(in);
    if (rc == 0 && *result == CALL_FAILED && !st->error) rc = fail(r, "out of memory");
    return rc;
}

static int apply_decision(run *r) {
    const bf_msg_brain_decision *d = r->d;
    fleet_editor_out *out = r->out;
    const fleet_request_mark *m = fleet_project_mark(r->p, d->request_id);
    if (m && m->reported) {
        out->verdict = FLEET_EDITOR_ALREADY;
        return 0;
    }
    if (d->type == BF_DECISION_CLARIFICATION || d->n_steps == 0) {
        out->verdict = FLEET_EDITOR_CLARIFICATION;
        return 0;
    }
    size_t n = d->n_steps < BF_WORKFLOW_STEPS_MAX ? d->n_steps : BF_WORKFLOW_STEPS_MAX;
    bf_msg_editor_event rep;
    event_init(r, &rep, BF_EDITOR_DECISION_APPLIED, -1, false, BF_TOOL_ADD_SCENE);
    rep.steps = calloc(n, sizeof *rep.steps);
    if (!rep.steps) return fail(r, "out of memory");
    int rc = 0;
    long failed_at = -1;
    for (size_t k = 0; k < n && rc == 0; k++) {
        bf_editor_step *st = &rep.steps[rep.n_steps++];
        if (failed_at >= 0) {
            st->step = (int64_t)k;
            st->tool = d->steps[k].tool;
            st->outcome = BF_STEP_SKIPPED;
            char why[64];
            snprintf(why, sizeof why, "not applied: step %ld failed", failed_at);
            if (!(st->error = strdup(why))) rc = fail(r, "out of memory");
            continue;
        }
        int result;
        rc = apply_call(r, k, &d->steps[k], st, &result);
        if (rc == 0 && result == CALL_FAILED) failed_at = (long)k;
    }
    if (rc == 0 && failed_at >= 0) {
        const bf_editor_step *f = &rep.steps[failed_at];
        char why[BF_TEXT_MAX];
        snprintf(why, sizeof why, "step %ld (%s) failed: %s", failed_at, bf_tool_name(f->tool), f->error);
        rep.event = BF_EDITOR_DECISION_FAILED;
        rep.error = strdup(why);
        out->error = strdup(why);
        if (!rep.error || !out->error) rc = fail(r, "out of memory");
    }
    snprintf(r->scope, sizeof r->scope, "outcome");
    if (rc == 0) {
        out->verdict = failed_at >= 0 ? FLEET_EDITOR_FAILED : FLEET_EDITOR_APPLIED;
        return emit(r, &rep);
    }
    bf_msg_editor_event_free(&rep);
    return rc;
}

static bool facts_name(const bf_image_facts *f, const char *url) {
    for (size_t i = 0; url && i < f->image_urls.n; i++)
        if (strcmp(f->image_urls.v[i], url) == 0) return true;
    return false;
}

static int apply_facts(run *r) {
    const bf_msg_brain_decision *d = r->d;
    r->out->verdict = FLEET_EDITOR_ENRICHED;
    const fleet_request_mark *m = fleet_project_mark(r->p, d->request_id);
    if (!m) return 0;
    size_t image_steps = 0;
    for (size_t k = 0; k < FLEET_STEPS_MAX; k++)
        image_steps += (m->done & (1u << k)) &&
                       (m->tools[k] == BF_TOOL_CREATE_SCENE_FROM_IMAGE || m->tools[k] == BF_TOOL_EDIT_SCENE_WITH_IMAGE);
    char *line = fleet_text_facts_line_new(&d->facts);
    if (!line) return fail(r, "out of memory");
    int rc = 0;
    for (size_t k = 0; k < FLEET_STEPS_MAX && rc == 0; k++) {
        m = fleet_project_mark(r->p, d->request_id); /* emit() may have moved the marks' owner */
        bool image_tool = m->tools[k] == BF_TOOL_CREATE_SCENE_FROM_IMAGE || m->tools[k] == BF_TOOL_EDIT_SCENE_WITH_IMAGE;
        if (!(m->done & (1u << k)) || !image_tool || !m->scene_ids[k]) continue;
        /* The image the call used, when known; else (an edit before a restart) the request's only one. */
        if (m->images[k] ? !facts_name(&d->facts, m->images[k]) : image_steps != 1) continue;
        fleet_scene *s = fleet_project_live_scene(r->p, m->scene_ids[k]);
        if (!s || (s->description && strstr(s->description, line))) continue;
        char *desc = fleet_text_describe_new(s->description, line);
        char *id = strdup(s->id), *name = strdup(s->name ? s->name : s->id);
        snprintf(r->scope, sizeof r->scope, "facts:%s:%zu", d->facts.trace_id, k);
            rc = desc && id && name ? emit_state(r, BF_EDITOR_SCENE_UPDATED, (long)k, m->tools[k], id, name, s->position,
                                             s->duration_ms, desc, s->version + 1, NULL)
                                : fail(r, "out of memory");
        free(desc);
        free(id);
        free(name);
    }
    free(line);
    return rc;
}

int fleet_editor_apply(fleet_storyboards *sb, const bf_msg_brain_decision *d, const fleet_editor_opts *o,
                       fleet_editor_out *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    run r = {.sb = sb, .d = d, .o = o, .out = out, .err = err, .errlen = errlen};
    if (!(r.p = fleet_storyboards_project(sb, d->env.project_id))) return fail(&r, "out of memory");
    return d->kind == BF_DECISION_KIND_IMAGE_FACTS_ENRICHED ? apply_facts(&r) : apply_decision(&r);
}
