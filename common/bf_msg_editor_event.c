#include "bf_msg_editor_event.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

static const char *const kind_names[BF_EDITOR_EVENT_KINDS] = {
    "scene_created", "scene_updated", "scene_deleted", "scenes_reordered", "decision_applied", "decision_failed",
};
static const char *const origin_names[] = {"brain", "user"}; /* from BF_ORIGIN_BRAIN */
static const char *const outcome_names[] = {"applied", "failed", "skipped"};

const char *bf_editor_event_kind_name(bf_editor_event_kind k) {
    return (unsigned)k < BF_EDITOR_EVENT_KINDS ? kind_names[k] : NULL;
}

int bf_editor_event_kind_parse(const char *s) {
    for (int i = 0; s && i < BF_EDITOR_EVENT_KINDS; i++)
        if (strcmp(s, kind_names[i]) == 0) return i;
    return -1;
}

const char *bf_editor_origin_name(bf_editor_origin o) {
    return o == BF_ORIGIN_BRAIN || o == BF_ORIGIN_USER ? origin_names[o - 1] : NULL;
}

const char *bf_step_outcome_name(bf_step_outcome o) { return (unsigned)o < 3 ? outcome_names[o] : NULL; }

bool bf_editor_event_is_scene(bf_editor_event_kind k) { return k <= BF_EDITOR_SCENES_REORDERED; }

static bool is_decision(bf_editor_event_kind k) {
    return k == BF_EDITOR_DECISION_APPLIED || k == BF_EDITOR_DECISION_FAILED;
}

void bf_msg_editor_event_free(bf_msg_editor_event *m) {
    if (!m) return;
    free(m->conversation_id);
    free(m->scene.scene_id);
    free(m->scene.name);
    free(m->scene.description);
    free(m->from_image.url);
    for (size_t i = 0; i < m->n_order; i++) free(m->order[i].scene_id);
    free(m->order);
    for (size_t i = 0; i < m->n_steps; i++) {
        free(m->steps[i].scene_id);
        free(m->steps[i].error);
    }
    free(m->steps);
    free(m->error);
    memset(m, 0, sizeof *m);
}

/* The tool names in bf_tool order, for bf_jc_enum. */
static void tool_names(const char *names[BF_TOOL_COUNT]) {
    for (int i = 0; i < BF_TOOL_COUNT; i++) names[i] = bf_tool_name((bf_tool)i);
}

static void read_scene(bf_jc *c, const cJSON *o, bf_editor_scene *s) {
    bf_jc_ident(c, o, "scene_id", true, &s->scene_id);
    bf_jc_string(c, o, "name", true, 1, BF_SCENE_NAME_MAX, false, &s->name);
    bf_jc_int(c, o, "position", true, 0, BF_SCENE_POSITION_MAX, &s->position);
    bf_jc_int(c, o, "duration_ms", true, 0, BF_SCENE_DURATION_MAX, &s->duration_ms);
    bf_jc_string(c, o, "description", true, 0, BF_SCENE_DESCRIPTION_MAX, true, &s->description);
    bf_jc_int(c, o, "version", true, 1, BF_SCENE_VERSION_MAX, &s->version);
}

static void read_image(bf_jc *c, const cJSON *o, bf_editor_image *im) {
    im->present = true;
    bf_jc_url(c, o, "url", true, BF_URL_MAX, &im->url);
    bf_jc_trace_id(c, o, "trace_id", false, im->trace_id);
    bf_jc_sha256(c, o, "content_hash", false, im->content_hash);
}

static void read_order(bf_jc *c, const cJSON *p, bf_msg_editor_event *m) {
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, p, "order", true, 1, BF_REORDER_MAX, &arr, &n) != 0) return;
    m->order = calloc(n, sizeof *m->order);
    if (!m->order) {
        bf_jc_fail(c, "out of memory");
        return;
    }
    size_t mk = bf_jc_push_key(c, "order");
    for (const cJSON *e = arr->child; e && !c->failed; e = e->next) {
        size_t mi = bf_jc_push_index(c, m->n_order);
        bf_editor_position *o = &m->order[m->n_order++];
        if (!cJSON_IsObject(e)) {
            bf_jc_fail(c, "expected an object");
        } else {
            bf_jc_ident(c, e, "scene_id", true, &o->scene_id);
            bf_jc_int(c, e, "position", true, 0, BF_SCENE_POSITION_MAX, &o->position);
            bf_jc_int(c, e, "version", true, 1, BF_SCENE_VERSION_MAX, &o->version);
            /* One position per scene: two would leave which one holds to the consumer's order. */
            for (size_t k = 0; !c->failed && k + 1 < m->n_order; k++)
                if (strcmp(m->order[k].scene_id, o->scene_id) == 0)
                    bf_jc_fail_at(c, "scene_id", "\"%s\" is listed twice", o->scene_id);
        }
        bf_jc_pop(c, mi);
    }
    bf_jc_pop(c, mk);
}

static void read_step(bf_jc *c, const cJSON *e, bf_editor_step *s, int64_t previous) {
    const char *tools[BF_TOOL_COUNT];
    int v = 0;
    tool_names(tools);
    if (!cJSON_IsObject(e)) {
        bf_jc_fail(c, "expected an object");
        return;
    }
    if (bf_jc_int(c, e, "step", true, 0, BF_WORKFLOW_STEPS_MAX - 1, &s->step) == 0 && s->step <= previous)
        bf_jc_fail_at(c, "step", "%lld is not above the previous step's %lld", (long long)s->step, (long long)previous);
    if (bf_jc_enum(c, e, "tool", true, tools, BF_TOOL_COUNT, &v) == 0) s->tool = (bf_tool)v;
    if (bf_jc_enum(c, e, "outcome", true, outcome_names, 3, &v) == 0) s->outcome = (bf_step_outcome)v;
    bf_jc_ident(c, e, "scene_id", false, &s->scene_id);
    bf_jc_string(c, e, "error", false, 1, BF_TEXT_MAX, true, &s->error);
    if (!c->failed && s->outcome == BF_STEP_FAILED && !s->error) bf_jc_fail_at(c, "error", "missing (required when failed)");
    if (!c->failed && s->outcome == BF_STEP_APPLIED && s->error) bf_jc_fail_at(c, "error", "not allowed when applied");
}

static void read_steps(bf_jc *c, const cJSON *p, bf_msg_editor_event *m) {
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, p, "steps", true, 1, BF_WORKFLOW_STEPS_MAX, &arr, &n) != 0) return;
    m->steps = calloc(n, sizeof *m->steps);
    if (!m->steps) {
        bf_jc_fail(c, "out of memory");
        return;
    }
    size_t mk = bf_jc_push_key(c, "steps");
    for (const cJSON *e = arr->child; e && !c->failed; e = e->next) {
        size_t mi = bf_jc_push_index(c, m->n_steps);
        int64_t previous = m->n_steps ? m->steps[m->n_steps - 1].step : -1;
        read_step(c, e, &m->steps[m->n_steps++], previous);
        if (!c->failed && m->event == BF_EDITOR_DECISION_APPLIED && m->steps[m->n_steps - 1].outcome == BF_STEP_FAILED)
            bf_jc_fail_at(c, "outcome", "failed in a decision_applied (that is a decision_failed)");
        bf_jc_pop(c, mi);
    }
    bf_jc_pop(c, mk);
}

/* Who made the change, and the brain fields that go with it. */
static void read_origin(bf_jc *c, const cJSON *p, bf_msg_editor_event *m) {
    const char *tools[BF_TOOL_COUNT];
    int v = 0;
    tool_names(tools);
    if (bf_jc_enum(c, p, "origin", false, origin_names, 2, &v) == 0 && bf_jc_get(p, "origin"))
        m->origin = (bf_editor_origin)(v + 1);
    bf_jc_uuid(c, p, "request_id", false, false, m->request_id);
    bf_jc_int(c, p, "step", false, 0, BF_WORKFLOW_STEPS_MAX - 1, &m->step);
    if (bf_jc_enum(c, p, "tool", false, tools, BF_TOOL_COUNT, &v) == 0 && bf_jc_get(p, "tool")) {
        m->has_tool = true;
        m->tool = (bf_tool)v;
    }
    bf_jc_ident(c, p, "conversation_id", false, &m->conversation_id);
    if (c->failed) return;
    if (is_decision(m->event)) {
        /* A decision's steps say which tool calls applied; the event itself is the brain's. */
        if (m->origin == BF_ORIGIN_USER) bf_jc_fail_at(c, "origin", "a decision event is the brain's (\"brain\" or absent)");
        else if (!m->request_id[0]) bf_jc_fail_at(c, "request_id", "missing");
        else if (m->step >= 0) bf_jc_fail_at(c, "step", "not allowed on a decision event (steps[] carry them)");
        else if (m->has_tool) bf_jc_fail_at(c, "tool", "not allowed on a decision event (steps[] carry them)");
    } else if (m->origin == BF_ORIGIN_BRAIN) {
        if (!m->request_id[0]) bf_jc_fail_at(c, "request_id", "missing (required with origin brain)");
        else if (m->step < 0) bf_jc_fail_at(c, "step", "missing (required with origin brain)");
        else if (!m->has_tool && m->event != BF_EDITOR_SCENES_REORDERED)
            bf_jc_fail_at(c, "tool", "missing (required with origin brain)");
    } else {
        if (m->request_id[0]) bf_jc_fail_at(c, "request_id", "only with origin brain");
        else if (m->step >= 0) bf_jc_fail_at(c, "step", "only with origin brain");
        else if (m->has_tool) bf_jc_fail_at(c, "tool", "only with origin brain");
    }
}

int bf_msg_editor_event_decode(const char *bytes, size_t len, bf_msg_editor_event *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->step = -1;
    bf_jc c;
    const cJSON *p, *o;
    int v;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_EDITOR_EVENTS, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    if (bf_jc_enum(&c, p, "event", true, kind_names, BF_EDITOR_EVENT_KINDS, &v) == 0) out->event = (bf_editor_event_kind)v;
    if (!c.failed) read_origin(&c, p, out);
    if (!c.failed && out->event != BF_EDITOR_SCENE_CREATED && bf_jc_get(p, "from_image"))
        bf_jc_fail_at(&c, "from_image", "only on scene_created");
    if (!c.failed && out->event != BF_EDITOR_DECISION_FAILED && bf_jc_get(p, "error"))
        bf_jc_fail_at(&c, "error", "only on decision_failed");
    if (c.failed) {
        /* nothing more to read */
    } else if (out->event == BF_EDITOR_SCENE_CREATED || out->event == BF_EDITOR_SCENE_UPDATED) {
        if (bf_jc_object(&c, p, "scene", true, &o) == 0) {
            size_t mk = bf_jc_push_key(&c, "scene");
            read_scene(&c, o, &out->scene);
            bf_jc_pop(&c, mk);
        }
        if (bf_jc_object(&c, p, "from_image", false, &o) == 0 && o) {
            size_t mk = bf_jc_push_key(&c, "from_image");
            read_image(&c, o, &out->from_image);
            bf_jc_pop(&c, mk);
        }
    } else if (out->event == BF_EDITOR_SCENE_DELETED) {
        bf_jc_ident(&c, p, "scene_id", true, &out->scene.scene_id);
        bf_jc_int(&c, p, "version", true, 1, BF_SCENE_VERSION_MAX, &out->scene.version);
    } else if (out->event == BF_EDITOR_SCENES_REORDERED) {
        read_order(&c, p, out);
    } else {
        read_steps(&c, p, out);
        bf_jc_string(&c, p, "error", out->event == BF_EDITOR_DECISION_FAILED, 1, BF_TEXT_MAX, true, &out->error);
    }
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_editor_event_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_editor_event m;
    int r = bf_msg_editor_event_decode(bytes, len, &m, err, errlen);
    bf_msg_editor_event_free(&m);
    return r;
}

static int add_int(cJSON *o, const char *key, int64_t v) { return cJSON_AddNumberToObject(o, key, (double)v) ? 0 : -1; }

static int add_scene(cJSON *p, const bf_editor_scene *s) {
    cJSON *o = cJSON_AddObjectToObject(p, "scene");
    if (!o) return -1;
    int r = bf_msg_add_string(o, "scene_id", s->scene_id);
    r |= bf_msg_add_string(o, "name", s->name);
    r |= add_int(o, "position", s->position);
    r |= add_int(o, "duration_ms", s->duration_ms);
    r |= bf_msg_add_string(o, "description", s->description ? s->description : "");
    r |= add_int(o, "version", s->version);
    return r;
}

static int add_image(cJSON *p, const bf_editor_image *im) {
    if (!im->present) return 0;
    cJSON *o = cJSON_AddObjectToObject(p, "from_image");
    if (!o) return -1;
    int r = bf_msg_add_string(o, "url", im->url);
    if (im->trace_id[0]) r |= bf_msg_add_string(o, "trace_id", im->trace_id);
    if (im->content_hash[0]) r |= bf_msg_add_string(o, "content_hash", im->content_hash);
    return r;
}

static int add_order(cJSON *p, const bf_msg_editor_event *m) {
    cJSON *arr = cJSON_AddArrayToObject(p, "order");
    if (!arr) return -1;
    for (size_t i = 0; i < m->n_order; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o) return -1;
        cJSON_AddItemToArray(arr, o);
        int r = bf_msg_add_string(o, "scene_id", m->order[i].scene_id);
        r |= add_int(o, "position", m->order[i].position);
        r |= add_int(o, "version", m->order[i].version);
        if (r) return -1;
    }
    return 0;
}

static int add_steps(cJSON *p, const bf_msg_editor_event *m) {
    cJSON *arr = cJSON_AddArrayToObject(p, "steps");
    if (!arr) return -1;
    for (size_t i = 0; i < m->n_steps; i++) {
        const bf_editor_step *s = &m->steps[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) return -1;
        cJSON_AddItemToArray(arr, o);
        int r = add_int(o, "step", s->step);
        r |= bf_msg_add_string(o, "tool", bf_tool_name(s->tool));
        r |= bf_msg_add_string(o, "outcome", bf_step_outcome_name(s->outcome));
        r |= bf_msg_add_string(o, "scene_id", s->scene_id);
        r |= bf_msg_add_string(o, "error", s->error);
        if (r) return -1;
    }
    return 0;
}

char *bf_msg_editor_event_encode(const bf_msg_editor_event *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    r |= bf_msg_add_string(p, "event", bf_editor_event_kind_name(m->event));
    r |= bf_msg_add_string(p, "origin", bf_editor_origin_name(m->origin));
    if (m->request_id[0]) r |= bf_msg_add_string(p, "request_id", m->request_id);
    if (m->step >= 0) r |= add_int(p, "step", m->step);
    if (m->has_tool) r |= bf_msg_add_string(p, "tool", bf_tool_name(m->tool));
    r |= bf_msg_add_string(p, "conversation_id", m->conversation_id);
    /* Written whenever set, so the verifying decode refuses them on the kinds that do not take
     * them rather than the encoder dropping what its caller filled in. */
    r |= add_image(p, &m->from_image);
    r |= bf_msg_add_string(p, "error", m->error);
    if (r == 0) {
        switch (m->event) {
        case BF_EDITOR_SCENE_CREATED:
        case BF_EDITOR_SCENE_UPDATED: r |= add_scene(p, &m->scene); break;
        case BF_EDITOR_SCENE_DELETED:
            r |= bf_msg_add_string(p, "scene_id", m->scene.scene_id);
            r |= add_int(p, "version", m->scene.version);
            break;
        case BF_EDITOR_SCENES_REORDERED: r |= add_order(p, m); break;
        case BF_EDITOR_DECISION_APPLIED:
        case BF_EDITOR_DECISION_FAILED:
            r |= add_steps(p, m);
            break;
        }
    }
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_EDITOR_EVENTS, p, verify, err, errlen);
}
