#include "fleet_event.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static void str(char *dst, size_t n, const cJSON *j) {
    if (cJSON_IsString(j)) snprintf(dst, n, "%s", j->valuestring);
}

static int64_t num(const cJSON *j) { return cJSON_IsNumber(j) ? (int64_t)j->valuedouble : -1; }

int fleet_schema_rank(const char *s) {
    static const char *const order[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                        "imageFactsProcessed", "brainDecisions", "memoryUpdates", "deadLetters"};
    for (int i = 0; i < 7; i++)
        if (strcmp(s, order[i]) == 0) return i;
    return 7;
}

static void describe(fleet_event *ev, const cJSON *p) {
    const char *s = ev->schema;
    if (strcmp(s, "brainRequests") == 0) {
        const cJSON *urls = get(p, "image_urls");
        int n = cJSON_GetArraySize(urls);
        ev->has_images = n > 0;
        const cJSON *prompt = get(p, "prompt");
        snprintf(ev->detail, sizeof ev->detail, "prompt \"%.80s\"%s, %d image(s)",
                 cJSON_IsString(prompt) ? prompt->valuestring : "", cJSON_IsString(prompt) && strlen(prompt->valuestring) > 80 ? "..." : "", n);
    } else if (strcmp(s, "imageAnalysisRequested") == 0) {
        const cJSON *u = get(p, "url");
        snprintf(ev->detail, sizeof ev->detail, "image %.150s", cJSON_IsString(u) ? u->valuestring : "?");
    } else if (strcmp(s, "imageFactsReady") == 0 || strcmp(s, "imageFactsProcessed") == 0) {
        const cJSON *f = strcmp(s, "imageFactsProcessed") == 0 && get(p, "facts") ? get(p, "facts") : p;
        const cJSON *mood = get(f, "mood"), *an = get(f, "analyser");
        ev->processing_ms = num(get(f, "processing_ms"));
        if (!*ev->image_id) str(ev->image_id, sizeof ev->image_id, get(f, "trace_id"));
        snprintf(ev->detail, sizeof ev->detail, "mood %s, analyser %s, %lld ms", cJSON_IsString(mood) ? mood->valuestring : "?",
                 cJSON_IsString(an) ? an->valuestring : "?", (long long)ev->processing_ms);
    } else if (strcmp(s, "brainDecisions") == 0) {
        str(ev->kind, sizeof ev->kind, get(p, "kind"));
        const cJSON *t = get(p, "timings");
        ev->queue_wait_ms = num(get(t, "queue_wait_ms"));
        ev->context_ms = num(get(t, "context_ms"));
        ev->llm_ms = num(get(t, "llm_ms"));
        ev->total_ms = num(get(t, "total_ms"));
        const cJSON *d = get(p, "decision"), *type = get(d, "type"), *model = get(p, "model");
        if (strcmp(ev->kind, "image_facts_enriched") == 0) {
            const cJSON *f = get(p, "facts");
            if (!*ev->image_id) str(ev->image_id, sizeof ev->image_id, get(f, "trace_id"));
            const cJSON *mood = get(f, "mood");
            snprintf(ev->detail, sizeof ev->detail, "enriched with late image facts (mood %s)",
                     cJSON_IsString(mood) ? mood->valuestring : "?");
        } else {
            snprintf(ev->detail, sizeof ev->detail, "%s by %s%s, total %lld ms", cJSON_IsString(type) ? type->valuestring : "decision",
                     cJSON_IsString(model) ? model->valuestring : "?",
                     cJSON_IsTrue(get(p, "context_degraded")) ? " (degraded context)" : "", (long long)ev->total_ms);
        }
    } else if (strcmp(s, "memoryUpdates") == 0) {
        snprintf(ev->detail, sizeof ev->detail, "%d item(s), %d message(s)", cJSON_GetArraySize(get(p, "items")),
                 cJSON_GetArraySize(get(p, "messages")));
    } else if (strcmp(s, "deadLetters") == 0) {
        const cJSON *r = get(p, "reason"), *src = get(p, "source");
        const cJSON *code = get(r, "code"), *msg = get(r, "message"), *topic = get(src, "topic");
        ev->failed = true;
        snprintf(ev->detail, sizeof ev->detail, "%s from %s: %.100s", cJSON_IsString(code) ? code->valuestring : "?",
                 cJSON_IsString(topic) ? topic->valuestring : "?", cJSON_IsString(msg) ? msg->valuestring : "");
    }
    if (cJSON_IsObject(get(p, "error"))) ev->failed = true;
}

int fleet_event_from_record(const fleet_record *r, fleet_event *ev) {
    memset(ev, 0, sizeof *ev);
    snprintf(ev->topic, sizeof ev->topic, "%s", r->topic ? r->topic : "");
    ev->partition = r->partition;
    ev->offset = r->offset;
    ev->ts_ms = r->timestamp_ms;
    ev->queue_wait_ms = ev->context_ms = ev->llm_ms = ev->total_ms = ev->processing_ms = -1;
    if (!r->value) return -1;
    cJSON *j = cJSON_ParseWithLength(r->value, r->len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -1;
    }
    str(ev->schema, sizeof ev->schema, get(j, "schema"));
    str(ev->producer, sizeof ev->producer, get(j, "producer"));
    str(ev->project, sizeof ev->project, get(j, "project_id"));
    str(ev->trace_id, sizeof ev->trace_id, get(j, "trace_id"));
    int64_t at = num(get(j, "produced_at_ms"));
    if (at > 0) ev->ts_ms = at;
    const cJSON *p = get(j, "payload");
    str(ev->request_id, sizeof ev->request_id, get(p, "request_id"));
    str(ev->image_id, sizeof ev->image_id, get(p, "image_trace_id"));
    if (strcmp(ev->schema, "imageFactsProcessed") == 0) str(ev->image_id, sizeof ev->image_id, get(p, "trace_id"));
    describe(ev, p);
    cJSON_Delete(j);
    return 0;
}

bool fleet_event_matches(const fleet_event *ev, const char *id) {
    return *id && (strcmp(ev->trace_id, id) == 0 || strcmp(ev->request_id, id) == 0 || strcmp(ev->image_id, id) == 0);
}
