#include "brain_conversation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_of(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src ? src : ""); }

void brain_conversation_clear(brain_conversation *c) {
    free(c->open.question);
    free(c->open.pending_prompt);
    memset(c, 0, sizeof *c);
}

int brain_conversation_parse(const cJSON *value, brain_conversation *c) {
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(value)) return 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(value, "turn_count");
    if (cJSON_IsNumber(t) && t->valuedouble >= 0 && t->valuedouble < 1e15) c->turn_count = (int64_t)t->valuedouble;
    copy_str(c->last_request_id, sizeof c->last_request_id, str_of(value, "last_request_id"));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(value, "last_decision");
    const char *decided_scene = cJSON_IsObject(d) ? str_of(d, "scene_id") : NULL;
    if (cJSON_IsObject(d)) copy_str(c->last_tool, sizeof c->last_tool, str_of(d, "tool"));
    /* memory-writer writes current_scene_id null when the scene was deleted: the editor's word,
     * saying there is none. */
    bool editor_reported = cJSON_GetObjectItemCaseSensitive(value, "current_scene_id") != NULL;
    const char *applied = str_of(value, "current_scene_id");
    const char *applied_req = str_of(value, "last_applied_request_id");
    /* The editor's word once it has applied the brain's last decision; the decision's own scene
     * until then (or when the editor never reports). */
    bool editor_caught_up = editor_reported && applied_req && strcmp(applied_req, c->last_request_id) == 0;
    if (decided_scene && *decided_scene && !editor_caught_up) {
        copy_str(c->current_scene_id, sizeof c->current_scene_id, decided_scene);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, "new_scene");
        c->new_scene = cJSON_IsTrue(n);
    } else if (applied) {
        copy_str(c->current_scene_id, sizeof c->current_scene_id, applied);
    }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(value, "open_question");
    if (cJSON_IsObject(q) && str_of(q, "question")) {
        c->open.present = true;
        copy_str(c->open.request_id, sizeof c->open.request_id, str_of(q, "request_id"));
        c->open.question = strdup(str_of(q, "question"));
        c->open.pending_prompt = strdup(str_of(q, "pending_prompt") ? str_of(q, "pending_prompt") : "");
        if (!c->open.question || !c->open.pending_prompt) {
            brain_conversation_clear(c);
            return -1;
        }
        const cJSON *o;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(q, "options")) {
            if (c->open.n_options == BRAIN_OPTIONS_MAX) break;
            const char *sid = str_of(o, "scene_id");
            if (!sid || !*sid) continue;
            brain_option *op = &c->open.options[c->open.n_options++];
            copy_str(op->label, sizeof op->label, str_of(o, "label"));
            copy_str(op->scene_id, sizeof op->scene_id, sid);
        }
    }
    return 0;
}

int brain_conversation_copy(brain_conversation *dst, const brain_conversation *src) {
    *dst = *src;
    dst->open.question = src->open.question ? strdup(src->open.question) : NULL;
    dst->open.pending_prompt = src->open.pending_prompt ? strdup(src->open.pending_prompt) : NULL;
    if ((src->open.question && !dst->open.question) || (src->open.pending_prompt && !dst->open.pending_prompt)) {
        free(dst->open.question);
        free(dst->open.pending_prompt);
        memset(dst, 0, sizeof *dst);
        return -1;
    }
    return 0;
}

cJSON *brain_conversation_brain_fields_new(const brain_conversation *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    bool ok = cJSON_AddNumberToObject(o, "turn_count", (double)c->turn_count) &&
              cJSON_AddStringToObject(o, "last_request_id", c->last_request_id);
    cJSON *d = ok ? cJSON_AddObjectToObject(o, "last_decision") : NULL;
    ok = d && cJSON_AddStringToObject(d, "tool", c->last_tool);
    if (ok && c->current_scene_id[0])
        ok = cJSON_AddStringToObject(d, "scene_id", c->current_scene_id) && cJSON_AddBoolToObject(d, "new_scene", c->new_scene);
    if (ok && c->open.present) {
        cJSON *q = cJSON_AddObjectToObject(o, "open_question");
        ok = q && cJSON_AddStringToObject(q, "request_id", c->open.request_id) &&
             cJSON_AddStringToObject(q, "question", c->open.question ? c->open.question : "") &&
             cJSON_AddStringToObject(q, "pending_prompt", c->open.pending_prompt ? c->open.pending_prompt : "");
        cJSON *arr = ok ? cJSON_AddArrayToObject(q, "options") : NULL;
        for (size_t i = 0; ok && i < c->open.n_options; i++) {
            cJSON *op = cJSON_CreateObject();
            ok = op && cJSON_AddStringToObject(op, "label", c->open.options[i].label) &&
                 cJSON_AddStringToObject(op, "scene_id", c->open.options[i].scene_id);
            if (op) cJSON_AddItemToArray(arr, op);
        }
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "open_question") != NULL; /* answered or dropped: the merge clears it */
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
