/* brain-worker's stage through the fake runtime, with a scripted database and LLM: a request's
 * phases (fan-out, queued, context read, awaiting facts, deciding), per-project order, parking (a
 * project's waiting requests hold no slot), await deadlines on a moved clock, late facts and their
 * enrichment (once), the degraded packet, the LLM path and its failure, bad input. Every published
 * message is checked for its key, trace and schema headers, as the real runtime would send it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_fake_runtime.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_image_analysis_requested.h"
#include "brain_stage.h"

#define REQ_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define REQ_TP "00-" REQ_TRACE "-00f067aa0ba902b7-01"

/* ---- scripted database ---- */

typedef struct pending_read {
    bool is_context;
    char project[64];
    brain_store_context_fn ctx_done;
    brain_store_known_fn known_done;
    void *ctx;
    size_t n;
} pending_read;

typedef struct fake_store {
    pending_read reads[64];
    size_t n_reads;
    size_t contexts_started;
    const char *known_url; /* an URL the project already has, or NULL */
    const char *doc;       /* the context document answered; NULL: context_doc */
} fake_store;

static int store_context(void *impl, const char *project_id, const char *conversation_id, long long nconv,
                         long long nimg, brain_store_context_fn done, void *ctx) {
    (void)conversation_id, (void)nconv, (void)nimg;
    fake_store *s = impl;
    pending_read *r = &s->reads[s->n_reads++];
    *r = (pending_read){.is_context = true, .ctx_done = done, .ctx = ctx};
    snprintf(r->project, sizeof r->project, "%s", project_id);
    s->contexts_started++;
    return 0;
}

static int store_known(void *impl, const char *project_id, const char *const *urls, size_t n,
                       brain_store_known_fn done, void *ctx) {
    fake_store *s = impl;
    pending_read *r = &s->reads[s->n_reads++];
    *r = (pending_read){.known_done = done, .ctx = ctx, .n = n};
    snprintf(r->project, sizeof r->project, "%s", project_id);
    (void)urls;
    return 0;
}

static const char context_doc[] =
    "{\"preferences\":[{\"key\":\"preferred_mood\",\"value\":\"dark\",\"confidence\":0.8}],\"relationships\":[],"
    "\"scenes\":[{\"scene_id\":\"s1\",\"name\":\"Intro\",\"position\":1,\"duration_ms\":3000}],\"images\":[],"
    "\"messages\":[]}";

/* Answers read i (in start order among those still pending); err NULL answers with the document. */
static void store_answer(fake_store *s, size_t i, const char *err) {
    assert_true(i < s->n_reads);
    pending_read r = s->reads[i];
    memmove(&s->reads[i], &s->reads[i + 1], (s->n_reads - i - 1) * sizeof r);
    s->n_reads--;
    if (r.is_context) {
        r.ctx_done(r.ctx, err ? NULL : strdup(s->doc ? s->doc : context_doc), err);
    } else {
        int known[8] = {0};
        if (s->known_url) known[0] = 1;
        r.known_done(r.ctx, known, r.n, err);
    }
}

static size_t store_find(fake_store *s, bool context, const char *project) {
    for (size_t i = 0; i < s->n_reads; i++)
        if (s->reads[i].is_context == context && strcmp(s->reads[i].project, project) == 0) return i;
    fail_msg("no pending %s read for %s", context ? "context" : "known-images", project);
    return 0;
}

/* ---- scripted LLM ---- */

typedef struct fake_llm {
    void *jobs[64];
    brain_llm_done_fn done[64];
    char *bodies[64];
    size_t n;
} fake_llm;

static int llm_send(void *impl, const char *body, void *job, brain_llm_done_fn done, char *err, size_t errlen) {
    (void)err, (void)errlen;
    fake_llm *l = impl;
    l->jobs[l->n] = job;
    l->done[l->n] = done;
    l->bodies[l->n++] = strdup(body);
    return 0;
}

/* Answers send i: a 2xx with one tool call (name, JSON arguments), or status with no answer. */
static void llm_answer(fake_llm *l, size_t i, long status, const char *tool, const char *args) {
    char *body = NULL;
    if (tool) {
        cJSON *root = cJSON_CreateObject();
        cJSON *choice = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
        cJSON *m = cJSON_AddObjectToObject(choice, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON *tc = cJSON_CreateObject();
        cJSON_AddStringToObject(tc, "id", "call_1");
        cJSON_AddStringToObject(tc, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(tc, "function");
        cJSON_AddStringToObject(fn, "name", tool);
        cJSON_AddStringToObject(fn, "arguments", args);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "tool_calls"), tc);
        cJSON_AddStringToObject(choice, "finish_reason", "tool_calls");
        body = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
    }
    bool ok = status >= 200 && status < 300;
    l->done[i](l->jobs[i], status, body ? body : "", body ? strlen(body) : 0, ok ? NULL : "HTTP error");
    free(body);
}

static const char *decided_reason(const cJSON *root) {
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "decided_by");
    return d ? cJSON_GetObjectItem(d, "reason")->valuestring : "(none)";
}

/* ---- fixture ---- */

typedef struct fx {
    bf_fake_runtime *f;
    brain_cfg cfg;
    fake_store store;
    fake_llm llm;
    brain_stage *st;
} fx;

static const char *no_env(const char *name, void *ctx) {
    (void)name, (void)ctx;
    return NULL;
}

static fx *fx_new(bool with_store, bool with_llm, long long max_in_flight) {
    fx *x = calloc(1, sizeof *x);
    char err[256];
    if (bf_config_load(brain_cfg_vars, brain_cfg_n, &x->cfg, no_env, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    bf_common_cfg cc;
    if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &cc, no_env, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    cc.max_in_flight = max_in_flight;
    x->f = bf_fake_runtime_new(&cc);
    brain_store_ops so = {.impl = &x->store, .context = store_context, .known_images = store_known};
    brain_llm_transport lt = {.impl = &x->llm, .send = llm_send};
    x->st = brain_stage_new(bf_fake_runtime_rt(x->f), &x->cfg, with_store ? &so : NULL, with_llm ? &lt : NULL);
    assert_non_null(x->st);
    bf_stage_ops ops = brain_stage_ops();
    bf_fake_runtime_set_stage(x->f, &ops, x->st);
    return x;
}

static void fx_free(fx *x) {
    brain_stage_close(x->st);
    brain_stage_free(x->st);
    bf_fake_runtime_free(x->f);
    for (size_t i = 0; i < x->llm.n; i++) free(x->llm.bodies[i]);
    free(x);
}

static int req_seq;

/* A brainRequests message; image NULL for none; await 0 for none. */
static int64_t send_request(fx *x, const char *project, const char *prompt, const char *image, int await_ms,
                            const char *selected, char request_id[37]) {
    bf_msg_brain_request m;
    memset(&m, 0, sizeof m);
    char err[256];
    if (bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, project, REQ_TP, "editor", 1767225600000LL, err,
                         sizeof err) != 0)
        fail_msg("%s", err);
    snprintf(m.request_id, sizeof m.request_id, "0190a4b2-7c3d-4e5f-8a6b-%012d", ++req_seq);
    if (request_id) memcpy(request_id, m.request_id, 37);
    m.prompt = (char *)prompt;
    char *urls[1] = {(char *)image};
    m.image_urls = (bf_strlist){.v = image ? urls : NULL, .n = image ? 1 : 0};
    m.selected_scene_id = (char *)selected;
    m.await_image_facts_ms = await_ms;
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    int64_t off = bf_fake_deliver(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, project, json, REQ_TP);
    free(json);
    return off;
}

/* The imageFactsProcessed message of the contract corpus' valid/<file> for image trace id of
 * request_id in project. */
static void send_facts_from(fx *x, const char *file, const char *project, const char *image_trace,
                            const char *request_id) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/contracts/imageFactsProcessed/valid/%s", getenv("BF_SOURCE_DIR"), file);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    assert_non_null(root);
    cJSON_ReplaceItemInObject(root, "project_id", cJSON_CreateString(project));
    cJSON *p = cJSON_GetObjectItem(root, "payload");
    cJSON_ReplaceItemInObject(p, "trace_id", cJSON_CreateString(image_trace));
    cJSON_ReplaceItemInObject(p, "request_id", cJSON_CreateString(request_id));
    cJSON *facts = cJSON_GetObjectItem(p, "facts");
    cJSON_ReplaceItemInObject(facts, "trace_id", cJSON_CreateString(image_trace));
    cJSON_ReplaceItemInObject(facts, "request_id", cJSON_CreateString(request_id));
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    bf_fake_deliver(x->f, BF_SCHEMA_IMAGE_FACTS_PROCESSED, 0, project, json, NULL);
    free(json);
}

static void send_facts(fx *x, const char *project, const char *image_trace, const char *request_id) {
    send_facts_from(x, "builtin.json", project, image_trace, request_id);
}

/* Checks what every output must carry and returns the payload's JSON (cJSON_Delete it). */
static cJSON *output(const bf_fake_record *r, const char *project) {
    assert_non_null(r);
    assert_string_equal(r->key, project);
    assert_string_equal(r->schema, r->topic);
    assert_string_equal(r->schema_version, "1");
    assert_memory_equal(r->traceparent + 3, REQ_TRACE, 32); /* the request's trace */
    cJSON *root = cJSON_Parse(r->payload);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItem(root, "project_id")->valuestring, project);
    assert_string_equal(cJSON_GetObjectItem(root, "trace_id")->valuestring, REQ_TRACE);
    return root;
}

static const char *decision_tool(const cJSON *root) {
    const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "decision");
    const cJSON *tc = cJSON_GetObjectItem(d, "tool_call");
    return tc ? cJSON_GetObjectItem(tc, "tool")->valuestring : cJSON_GetObjectItem(d, "type")->valuestring;
}

/* The first and only conversation_context item and the messages' turns of memoryUpdates i. */
static void memory_of(fx *x, size_t i, long long *turn, cJSON **conv) {
    cJSON *m = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_MEMORY_UPDATES, i)->payload);
    cJSON *p = cJSON_GetObjectItem(m, "payload");
    *turn = -1;
    cJSON *msg;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItem(p, "messages")) {
        long long t = (long long)cJSON_GetObjectItem(msg, "turn")->valuedouble;
        if (*turn >= 0 && t != *turn) fail_msg("one turn's messages with turns %lld and %lld", *turn, t);
        *turn = t;
    }
    *conv = NULL;
    cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(p, "items")) {
        if (strcmp(cJSON_GetObjectItem(it, "memory_type")->valuestring, "scene_relationship") == 0)
            fail_msg("the brain wrote a scene relationship on deciding");
        if (strcmp(cJSON_GetObjectItem(it, "memory_type")->valuestring, "conversation_context") == 0)
            *conv = cJSON_Duplicate(cJSON_GetObjectItem(it, "value"), true);
    }
    cJSON_Delete(m);
}

static cJSON *tool_call_of(fx *x, size_t i) {
    cJSON *d = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, i)->payload);
    cJSON *tc = cJSON_Duplicate(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "decision"), "tool_call"), true);
    cJSON_Delete(d);
    return tc;
}

/* One request of project p1 in conversation c1, decided (the context read answered). */
static void turn_of(fx *x, const char *prompt, const char *selected) {
    bf_msg_brain_request m;
    memset(&m, 0, sizeof m);
    char err[256];
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, "p1", REQ_TP, "editor", 1767225600000LL, err,
                                      sizeof err), 0);
    snprintf(m.request_id, sizeof m.request_id, "0190a4b2-7c3d-4e5f-8a6b-%012d", ++req_seq);
    m.prompt = (char *)prompt;
    m.selected_scene_id = (char *)selected;
    m.conversation_id = "c1";
    m.await_image_facts_ms = -1;
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    bf_fake_deliver(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, "p1", json, REQ_TP);
    free(json);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
}

static const char two_scenes[] =
    "{\"scenes\":[{\"scene_id\":\"s1\",\"name\":\"Intro\",\"position\":0,\"duration_ms\":3000},"
    "{\"scene_id\":\"s2\",\"name\":\"Logo reveal\",\"position\":1,\"duration_ms\":4000}]}";

/* "make it 8 seconds" right after "add a title scene": the new scene, though the database has
 * not seen it (memory-writer has not committed, the editor has not reported). */
static void follow_up_targets_the_scene_just_created(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    x->store.doc = two_scenes;
    turn_of(x, "Add a title scene", NULL);
    cJSON *tc = tool_call_of(x, 0);
    assert_string_equal(cJSON_GetObjectItem(tc, "tool")->valuestring, "addScene");
    char created[40];
    snprintf(created, sizeof created, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(tc, "input"), "new_scene_id")->valuestring);
    cJSON_Delete(tc);
    turn_of(x, "Make it 8 seconds", NULL);
    tc = tool_call_of(x, 1);
    assert_string_equal(cJSON_GetObjectItem(tc, "tool")->valuestring, "changeDuration");
    assert_string_equal(cJSON_GetObjectItem(tc, "target_scene_id")->valuestring, created);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tc, "input"), "duration_ms")->valueint, 8000);
    cJSON_Delete(tc);
    /* Turns numbered 1 and 2, and where the conversation stands written each time. */
    long long turn;
    cJSON *conv;
    memory_of(x, 0, &turn, &conv);
    assert_int_equal(turn, 1);
    assert_non_null(conv);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(conv, "last_decision"), "scene_id")->valuestring, created);
    cJSON_Delete(conv);
    memory_of(x, 1, &turn, &conv);
    assert_int_equal(turn, 2);
    assert_int_equal(cJSON_GetObjectItem(conv, "turn_count")->valueint, 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(conv, "open_question")));
    cJSON_Delete(conv);
    fx_free(x);
}

/* A question, then its answer: "the second one" is the storyboard's second scene, and the
 * request asked about is decided on it. */
static void clarification_answer_is_paired_with_its_question(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    x->store.doc = two_scenes;
    turn_of(x, "Make it longer", NULL);
    cJSON *d = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0)->payload);
    assert_string_equal(decision_tool(d), "clarification");
    cJSON_Delete(d);
    long long turn;
    cJSON *conv;
    memory_of(x, 0, &turn, &conv);
    cJSON *q = cJSON_GetObjectItem(conv, "open_question");
    assert_string_equal(cJSON_GetObjectItem(q, "pending_prompt")->valuestring, "Make it longer");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(q, "options")), 2);
    cJSON_Delete(conv);
    turn_of(x, "the second one", NULL);
    cJSON *tc = tool_call_of(x, 1);
    assert_string_equal(cJSON_GetObjectItem(tc, "tool")->valuestring, "changeDuration");
    assert_string_equal(cJSON_GetObjectItem(tc, "target_scene_id")->valuestring, "s2");
    cJSON_Delete(tc);
    /* The question is answered: no longer open. */
    memory_of(x, 1, &turn, &conv);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(conv, "open_question")));
    cJSON_Delete(conv);
    fx_free(x);
}

/* After a restart the brain remembers nothing: what the database says about the conversation
 * (its turn count, the scene it is about) is enough. */
static void restarted_brain_follows_the_stored_conversation(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    x->store.doc =
        "{\"scenes\":[{\"scene_id\":\"s1\",\"name\":\"Intro\",\"position\":0,\"duration_ms\":3000},"
        "{\"scene_id\":\"s7\",\"name\":\"Title\",\"position\":1,\"duration_ms\":5000}],"
        "\"messages\":[{\"role\":\"assistant\",\"content\":\"Added a title scene\",\"turn\":4},"
        "{\"role\":\"user\",\"content\":\"Add a title scene\",\"turn\":4}],"
        "\"conversation\":{\"turn_count\":4,\"last_request_id\":\"r4\",\"last_decision\":{\"tool\":\"addScene\"},"
        "\"current_scene_id\":\"s7\",\"last_applied_request_id\":\"r4\"}}";
    turn_of(x, "Make it shorter", NULL);
    cJSON *tc = tool_call_of(x, 0);
    assert_string_equal(cJSON_GetObjectItem(tc, "tool")->valuestring, "changeDuration");
    assert_string_equal(cJSON_GetObjectItem(tc, "target_scene_id")->valuestring, "s7");
    cJSON_Delete(tc);
    long long turn;
    cJSON *conv;
    memory_of(x, 0, &turn, &conv);
    assert_int_equal(turn, 5);
    cJSON_Delete(conv);
    fx_free(x);
}

/* ---- tests ---- */

static void decision_after_context_then_finished_after_ack(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    int64_t off = send_request(x, "p1", "Add a title scene", NULL, 0, NULL, NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_PENDING);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 0);
    bf_fake_run_once(x->f, 0); /* the job starts on the next turn */
    assert_int_equal(x->store.contexts_started, 1);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 1);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_MEMORY_UPDATES), 1);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_string_equal(decision_tool(d), "addScene");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "context_degraded")));
    cJSON_Delete(d);
    cJSON_Delete(output(bf_fake_nth(x->f, BF_SCHEMA_MEMORY_UPDATES, 0), "p1"));
    /* Finished, but its offset waits for the outputs' acknowledgement. */
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_UNACKED);
    bf_fake_ack_all(x->f);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_COMPLETE);
    fx_free(x);
}

static void one_project_in_order_others_in_parallel(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    int64_t a1 = send_request(x, "pa", "Add a scene", NULL, 0, NULL, NULL);
    int64_t a2 = send_request(x, "pa", "Add another scene", NULL, 0, NULL, NULL);
    int64_t b1 = send_request(x, "pb", "Add a scene", NULL, 0, NULL, NULL);
    /* pa's second request waits behind its first, parked: it holds no in-flight slot. */
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, a2), BF_FAKE_PARKED);
    assert_int_equal(bf_runtime_in_flight(bf_fake_runtime_rt(x->f)), 2);
    bf_fake_run_once(x->f, 0);
    assert_int_equal(x->store.contexts_started, 2); /* pa's first and pb's, at once */
    store_answer(&x->store, store_find(&x->store, true, "pb"), NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, b1), BF_FAKE_UNACKED);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, a2), BF_FAKE_PARKED);
    store_answer(&x->store, store_find(&x->store, true, "pa"), NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, a1), BF_FAKE_UNACKED);
    /* Now pa's second is unparked and starts on the next turn. */
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, a2), BF_FAKE_PENDING);
    assert_int_equal(x->store.contexts_started, 2);
    bf_fake_run_once(x->f, 0);
    assert_int_equal(x->store.contexts_started, 3);
    store_answer(&x->store, store_find(&x->store, true, "pa"), NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 3);
    /* Decisions in request order per project: pb, pa#1, pa#2. */
    const char *order[] = {"pb", "pa", "pa"};
    for (size_t i = 0; i < 3; i++) assert_string_equal(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, i)->key, order[i]);
    fx_free(x);
}

static void degraded_when_the_database_fails(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    send_request(x, "p1", "Add a title scene", NULL, 0, NULL, NULL);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, 0, "connection lost: server closed the connection");
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "context_degraded")));
    cJSON_Delete(d);
    fx_free(x);
}

/* Fan-out is immediate (before the context read answers); the decision waits for the facts until
 * the deadline, parked; the deadline decides without them. */
static void await_deadline_on_the_clock(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    int64_t off = send_request(x, "p1", "Make a scene like this", "https://cdn.example.com/a.jpg", 1500, NULL, NULL);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL); /* nothing known */
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED), 1);
    cJSON_Delete(output(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0), "p1"));
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_PARKED);
    bf_fake_advance(x->f, 1499);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 0);
    bf_fake_advance(x->f, 1);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 1);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_string_equal(decision_tool(d), "createSceneFromImage");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "image_trace_ids")), 0);
    cJSON_Delete(d);
    fx_free(x);
}

static void image_trace_of(fx *x, size_t i, char out[33]) {
    cJSON *r = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, i)->payload);
    snprintf(out, 33, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(r, "payload"), "image_trace_id")->valuestring);
    cJSON_Delete(r);
}

/* Facts arriving while the request waits release it at once, and the decision uses them. */
static void awaited_facts_release_the_request(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    char rid[37], img[33];
    int64_t off = send_request(x, "p1", "Make a scene like this", "https://cdn.example.com/a.jpg", 30000, NULL, rid);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL);
    image_trace_of(x, 0, img);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_PARKED);
    send_facts(x, "p1", img, rid);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 1);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    cJSON *ids = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "image_trace_ids");
    assert_int_equal(cJSON_GetArraySize(ids), 1);
    assert_string_equal(cJSON_GetArrayItem(ids, 0)->valuestring, img);
    cJSON_Delete(d);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_UNACKED);
    fx_free(x);
}

/* The enrichment's facts say the image could not be analysed, and why. */
static void assert_not_analysed_enrichment(const bf_fake_record *r, const char *rid, const char *img) {
    cJSON *e = output(r, "p1");
    cJSON *p = cJSON_GetObjectItem(e, "payload");
    assert_string_equal(cJSON_GetObjectItem(p, "kind")->valuestring, "image_facts_enriched");
    assert_string_equal(cJSON_GetObjectItem(p, "request_id")->valuestring, rid);
    cJSON *facts = cJSON_GetObjectItem(p, "facts");
    assert_string_equal(cJSON_GetObjectItem(facts, "trace_id")->valuestring, img);
    assert_null(cJSON_GetObjectItem(facts, "palette"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(facts, "error"), "code")->valuestring, "fetch_timeout");
    cJSON_Delete(e);
}

/* An image that could not be analysed releases the request waiting for it at once (30 s before
 * its deadline), the decision is made knowing it, and an enrichment saying why follows it. */
static void awaited_failure_releases_and_explains(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    char rid[37], img[33];
    int64_t off = send_request(x, "p1", "Make a scene like this", "https://cdn.example.com/a.jpg", 30000, NULL, rid);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL);
    image_trace_of(x, 0, img);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_PARKED);
    send_facts_from(x, "fetch_failed.json", "p1", img, rid);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 2);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    cJSON *pd = cJSON_GetObjectItem(d, "payload");
    assert_string_equal(cJSON_GetObjectItem(pd, "kind")->valuestring, "decision");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(pd, "image_trace_ids"), 0)->valuestring, img);
    cJSON_Delete(d);
    assert_not_analysed_enrichment(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 1), rid, img);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_UNACKED);
    fx_free(x);
}

/* The same failure after the decision: the enrichment says why. */
static void late_failure_explains(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    char rid[37], img[33];
    send_request(x, "p1", "Make a scene like this", "https://cdn.example.com/a.jpg", 0, NULL, rid);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL);
    image_trace_of(x, 0, img);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 1);
    send_facts_from(x, "fetch_failed.json", "p1", img, rid);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 2);
    assert_not_analysed_enrichment(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 1), rid, img);
    fx_free(x);
}

/* Facts after the decision: one enrichment in the request's trace, and none for a redelivery. */
static void late_facts_enrich_once(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    char rid[37], img[33];
    send_request(x, "p1", "Make a scene like this", "https://cdn.example.com/a.jpg", 0, NULL, rid);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL);
    image_trace_of(x, 0, img);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 1);
    send_facts(x, "p1", img, rid);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 2);
    cJSON *e = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 1), "p1");
    cJSON *p = cJSON_GetObjectItem(e, "payload");
    assert_string_equal(cJSON_GetObjectItem(p, "kind")->valuestring, "image_facts_enriched");
    assert_string_equal(cJSON_GetObjectItem(p, "request_id")->valuestring, rid);
    cJSON_Delete(e);
    send_facts(x, "p1", img, rid); /* redelivered */
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 2);
    fx_free(x);
}

/* A request delivered again (a crash before its offset was stored) asks for the same analyses
 * under the same ids, and a new scene gets the same id from both deliveries: nothing downstream
 * counts the upload twice, and the editor can create the scene once. */
static void redelivery_gives_the_same_ids(void **state) {
    (void)state;
    fx *x = fx_new(false, false, 256);
    bf_msg_brain_request m;
    memset(&m, 0, sizeof m);
    char err[256];
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, "p1", REQ_TP, "editor", 1767225600000LL, err,
                                      sizeof err), 0);
    snprintf(m.request_id, sizeof m.request_id, "0190a4b2-7c3d-4e5f-8a6b-00000000abcd");
    m.prompt = "Add a scene like this";
    char *urls[] = {"https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"};
    m.image_urls = (bf_strlist){.v = urls, .n = 2};
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    bf_fake_deliver(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, "p1", json, REQ_TP);
    bf_fake_deliver(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, "p1", json, REQ_TP);
    free(json);
    for (int i = 0; i < 4; i++) bf_fake_run_once(x->f, 0);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED), 4);
    char ids[4][40], events[4][40];
    for (size_t i = 0; i < 4; i++) {
        cJSON *r = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, i)->payload);
        snprintf(ids[i], 40, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(r, "payload"), "image_trace_id")->valuestring);
        snprintf(events[i], 40, "%s", cJSON_GetObjectItem(r, "event_id")->valuestring);
        cJSON_Delete(r);
    }
    assert_string_equal(ids[0], ids[2]);
    assert_string_equal(ids[1], ids[3]);
    assert_string_not_equal(ids[0], ids[1]);
    assert_string_equal(events[0], events[2]);
    assert_string_not_equal(events[0], events[1]);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 2);
    char scene[2][40];
    for (size_t i = 0; i < 2; i++) {
        cJSON *d = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, i)->payload);
        cJSON *tc = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "decision"), "tool_call");
        assert_string_equal(cJSON_GetObjectItem(tc, "tool")->valuestring, "createSceneFromImage");
        cJSON *id = cJSON_GetObjectItem(cJSON_GetObjectItem(tc, "input"), "new_scene_id");
        assert_non_null(id);
        snprintf(scene[i], 40, "%s", id->valuestring);
        cJSON_Delete(d);
    }
    assert_string_equal(scene[0], scene[1]);
    assert_memory_equal(scene[0], "scene-", 6);
    fx_free(x);
}

static void known_images_are_not_requested_again(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    x->store.known_url = "https://cdn.example.com/a.jpg";
    send_request(x, "p1", "Use this again", "https://cdn.example.com/a.jpg", 0, NULL, NULL);
    store_answer(&x->store, store_find(&x->store, false, "p1"), NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED), 0);
    fx_free(x);
}

static void llm_answer_and_llm_failure(void **state) {
    (void)state;
    fx *x = fx_new(true, true, 256);
    send_request(x, "p1", "Restyle the intro", NULL, 0, "s1", NULL);
    send_request(x, "p2", "Add a scene", NULL, 0, NULL, NULL);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    store_answer(&x->store, store_find(&x->store, true, "p2"), NULL);
    assert_int_equal(x->llm.n, 2);
    assert_non_null(strstr(x->llm.bodies[0], "Restyle the intro"));
    assert_non_null(strstr(x->llm.bodies[0], "preferred_mood")); /* the packet reached the prompt */
    llm_answer(&x->llm, 0, 200, "editScene", "{\"scene_id\":\"s1\",\"instruction\":\"darker\",\"summary\":\"ok\"}");
    llm_answer(&x->llm, 1, 500, NULL, NULL);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_string_equal(decision_tool(d), "editScene");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "model")->valuestring, x->cfg.llm_model);
    cJSON_Delete(d);
    d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 1), "p2");
    cJSON *err = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "error");
    assert_non_null(err);
    assert_string_equal(cJSON_GetObjectItem(err, "code")->valuestring, "llm_failed");
    assert_string_equal(decided_reason(d), "llm_failed");
    cJSON_Delete(d);
    fx_free(x);
}

/* An invalid argument gets one repair round with the exact problem, and the second answer is
 * used; the decision says so. */
static void one_repair_round(void **state) {
    (void)state;
    fx *x = fx_new(true, true, 256);
    send_request(x, "p1", "Make the intro longer", NULL, 0, "s1", NULL);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    assert_int_equal(x->llm.n, 1);
    llm_answer(&x->llm, 0, 200, "changeDuration", "{\"scene_id\":\"s9\",\"duration_ms\":\"long\",\"summary\":\"x\"}");
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_BRAIN_DECISIONS), 0);
    assert_int_equal(x->llm.n, 2); /* the repair request */
    assert_non_null(strstr(x->llm.bodies[1], "\"role\":\"tool\""));
    llm_answer(&x->llm, 1, 200, "changeDuration", "{\"scene_id\":\"s1\",\"delta_ms\":2000,\"summary\":\"longer\"}");
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_string_equal(decision_tool(d), "changeDuration");
    assert_string_equal(decided_reason(d), "llm_repaired");
    cJSON_Delete(d);
    bf_metrics *m = bf_runtime_metrics(bf_fake_runtime_rt(x->f));
    assert_true(bf_metric_value(bf_metrics_counter(m, "brain_llm_repairs_total", "", "code=\"invalid_arguments\"")) +
                    bf_metric_value(bf_metrics_counter(m, "brain_llm_repairs_total", "", "code=\"unknown_scene\"")) >=
                1);
    fx_free(x);
}

/* The model is down: "remove the logo" on a selected scene must not become a deletion. */
static void outage_never_deletes(void **state) {
    (void)state;
    fx *x = fx_new(true, true, 256);
    send_request(x, "p1", "Remove the logo", NULL, 0, "s1", NULL);
    send_request(x, "p2", "Delete this scene", NULL, 0, "s1", NULL);
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "p1"), NULL);
    store_answer(&x->store, store_find(&x->store, true, "p2"), NULL);
    llm_answer(&x->llm, 0, 503, NULL, NULL);
    llm_answer(&x->llm, 1, 0, NULL, NULL);
    for (size_t i = 0; i < 2; i++) {
        cJSON *d = cJSON_Parse(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, i)->payload);
        if (strcmp(decision_tool(d), "deleteScene") == 0) fail_msg("decision %zu deletes a scene during an outage", i);
        cJSON_Delete(d);
    }
    fx_free(x);
}

/* Without a database every packet is degraded, decided at once on the next turn. */
static void no_database_decides_degraded(void **state) {
    (void)state;
    fx *x = fx_new(false, false, 256);
    send_request(x, "p1", "Add a title scene", "https://cdn.example.com/a.jpg", 0, NULL, NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED), 1);
    bf_fake_run_once(x->f, 0);
    cJSON *d = output(bf_fake_nth(x->f, BF_SCHEMA_BRAIN_DECISIONS, 0), "p1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "payload"), "context_degraded")));
    cJSON_Delete(d);
    fx_free(x);
}

/* A busy project's queue is parked: with one in-flight slot, another project still gets through. */
static void busy_project_does_not_hold_others(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 1);
    for (int i = 0; i < 20; i++) send_request(x, "busy", "Add a scene", NULL, 0, NULL, NULL);
    assert_int_equal(bf_fake_parked(x->f), 19);
    bf_runtime *rt = bf_fake_runtime_rt(x->f);
    assert_int_equal(bf_runtime_in_flight(rt), 1);
    assert_true(bf_runtime_saturated(rt)); /* the one slot is busy's head */
    bf_fake_run_once(x->f, 0);
    store_answer(&x->store, store_find(&x->store, true, "busy"), NULL);
    assert_int_equal(bf_runtime_in_flight(rt), 1); /* busy's second, now at the head */
    assert_int_equal(bf_fake_parked(x->f), 18);
    fx_free(x);
}

static void invalid_request_is_dead_lettered(void **state) {
    (void)state;
    fx *x = fx_new(true, false, 256);
    int64_t off = bf_fake_deliver(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, "p1", "{\"schema\":\"brainRequests\"", NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_DEAD_LETTERS), 1);
    const bf_fake_record *r = bf_fake_nth(x->f, BF_SCHEMA_DEAD_LETTERS, 0);
    assert_string_equal(r->key, "p1");
    assert_non_null(strstr(r->payload, "\"code\":\"invalid_message\""));
    bf_fake_ack_all(x->f);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_BRAIN_REQUESTS, 0, off), BF_FAKE_COMPLETE);
    fx_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decision_after_context_then_finished_after_ack),
        cmocka_unit_test(one_project_in_order_others_in_parallel),
        cmocka_unit_test(degraded_when_the_database_fails),
        cmocka_unit_test(await_deadline_on_the_clock),
        cmocka_unit_test(awaited_facts_release_the_request),
        cmocka_unit_test(awaited_failure_releases_and_explains),
        cmocka_unit_test(late_failure_explains),
        cmocka_unit_test(late_facts_enrich_once),
        cmocka_unit_test(redelivery_gives_the_same_ids),
        cmocka_unit_test(follow_up_targets_the_scene_just_created),
        cmocka_unit_test(clarification_answer_is_paired_with_its_question),
        cmocka_unit_test(restarted_brain_follows_the_stored_conversation),
        cmocka_unit_test(known_images_are_not_requested_again),
        cmocka_unit_test(llm_answer_and_llm_failure),
        cmocka_unit_test(one_repair_round),
        cmocka_unit_test(outage_never_deletes),
        cmocka_unit_test(no_database_decides_degraded),
        cmocka_unit_test(busy_project_does_not_hold_others),
        cmocka_unit_test(invalid_request_is_dead_lettered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
