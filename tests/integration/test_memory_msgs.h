/* Contract-valid memory-writer inputs, built with the contracts' encoders; shared by the
 * memory-writer integration tests (test_memory_util.h) and the stage's unit tests (no Kafka, no
 * database here). Header-only: each test file is its own executable. */
#ifndef TEST_MEMORY_MSGS_H
#define TEST_MEMORY_MSGS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bf_msg_editor_event.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_msg_memory_update.h"
#include "bf_trace.h"
#include "bf_uuid.h"

/* An imageFactsReady for project with the given mood and one dominant colour; the envelope's
 * event id is written to event_id and its trace id to trace_id (either may be NULL). Returns
 * malloc'd JSON. */
static inline char *mt_image_facts_traced(const char *project, const char *mood, const char *hex, int image_no,
                                          char event_id[BF_UUID_LEN + 1], char trace_id[BF_TRACE_ID_LEN + 1]) {
    bf_msg_image_facts_ready m;
    memset(&m, 0, sizeof m);
    char err[512];
    if (bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_FACTS_READY, project, NULL, "image-worker", 1700000000000, err,
                         sizeof err) != 0)
        fail_msg("envelope: %s", err);
    bf_image_facts *fa = &m.facts;
    bf_random_hex(fa->trace_id, 16);
    bf_uuid_v7(fa->request_id);
    snprintf(fa->content_hash, sizeof fa->content_hash, "%064x", (unsigned)image_no);
    char url[128];
    snprintf(url, sizeof url, "https://example.com/img/%d.png", image_no);
    char *urls[] = {url};
    fa->image_urls = (bf_strlist){urls, 1};
    snprintf(fa->palette[0].hex, sizeof fa->palette[0].hex, "%s", hex);
    fa->palette[0].share = 0.7;
    snprintf(fa->palette[1].hex, sizeof fa->palette[1].hex, "#fafafa");
    fa->palette[1].share = 0.3;
    fa->n_palette = 2;
    fa->brightness = 0.5;
    fa->contrast = 0.4;
    fa->saturation = 0.6;
    fa->temperature = BF_TEMP_COOL;
    fa->mood = (bf_mood)bf_mood_parse(mood);
    fa->width = 640;
    fa->height = 480;
    fa->orientation = BF_ORIENT_LANDSCAPE;
    fa->analyser = BF_ANALYSER_BUILTIN;
    fa->processing_ms = 12;
    char *json = bf_msg_image_facts_ready_encode(&m, err, sizeof err);
    if (!json) fail_msg("encode imageFactsReady: %s", err);
    if (event_id) memcpy(event_id, m.env.event_id, BF_UUID_LEN + 1);
    if (trace_id) memcpy(trace_id, m.env.trace_id, BF_TRACE_ID_LEN + 1);
    return json;
}

static inline char *mt_image_facts(const char *project, const char *mood, const char *hex, int image_no,
                                   char event_id[BF_UUID_LEN + 1]) {
    return mt_image_facts_traced(project, mood, hex, image_no, event_id, NULL);
}

/* A memoryUpdates with one user_preference item. */
static inline char *mt_memory_update(const char *project, const char *key, const char *value, double confidence,
                                     bool is_explicit, char event_id[BF_UUID_LEN + 1]) {
    bf_msg_memory_update m;
    memset(&m, 0, sizeof m);
    char err[512];
    if (bf_envelope_init(&m.env, BF_SCHEMA_MEMORY_UPDATES, project, NULL, "brain-worker", 1700000000000, err,
                         sizeof err) != 0)
        fail_msg("envelope: %s", err);
    bf_memory_item it = {.memory_type = BF_MEMORY_USER_PREFERENCE, .key = (char *)key, .value = (char *)value,
                         .confidence = confidence, .source = (char *)"test", .is_explicit = is_explicit,
                         .expires_at_ms = -1};
    m.items = &it;
    m.n_items = 1;
    char *json = bf_msg_memory_update_encode(&m, err, sizeof err);
    if (!json) fail_msg("encode memoryUpdates: %s", err);
    if (event_id) memcpy(event_id, m.env.event_id, BF_UUID_LEN + 1);
    return json;
}

/* An editorEvents for project: m is the caller's (its envelope is filled here, produced at
 * produced_ms, the editor's clock); its event id is written to event_id (may be NULL). Returns
 * malloc'd JSON. */
static inline char *mt_editor_event(const char *project, bf_msg_editor_event *m, int64_t produced_ms,
                                    char event_id[BF_UUID_LEN + 1]) {
    char err[512];
    if (bf_envelope_init(&m->env, BF_SCHEMA_EDITOR_EVENTS, project, NULL, "editor", produced_ms, err, sizeof err) != 0)
        fail_msg("envelope: %s", err);
    char *json = bf_msg_editor_event_encode(m, err, sizeof err);
    if (!json) fail_msg("encode editorEvents: %s", err);
    if (event_id) memcpy(event_id, m->env.event_id, BF_UUID_LEN + 1);
    return json;
}

#endif
