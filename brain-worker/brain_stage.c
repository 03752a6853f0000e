#include "brain_stage.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_request.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_publish.h"
#include "bf_sha256.h"
#include "bf_trace.h"
#include "bf_uuid.h"
#include "brain_context.h"
#include "brain_flow.h"
#include "brain_followup.h"
#include "brain_late_facts.h"
#include "brain_llm.h"
#include "brain_map.h"
#include "brain_memory.h"
#include "brain_order.h"
#include "brain_overlay.h"
#include "brain_outcome.h"
#include "brain_prompt.h"
#include "brain_tools.h"

#define WORKER "brain-worker"
/* How often late-facts entries past their TTL are dropped and the gauges refreshed. */
#define HOUSEKEEPING_MS 1000
/* Read-your-writes memory: far longer than memory-writer takes to commit a turn (seconds), far
 * shorter than a conversation's pause; projects beyond the bound forget their oldest. */
#define OVERLAY_TTL_MS (10 * 60 * 1000)
#define OVERLAY_PROJECTS 20000

const char *const brain_stage_inputs[] = {BF_SCHEMA_BRAIN_REQUESTS, BF_SCHEMA_IMAGE_FACTS_PROCESSED};
const size_t brain_stage_n_inputs = 2;
const char *const brain_stage_outputs[] = {BF_SCHEMA_BRAIN_DECISIONS, BF_SCHEMA_MEMORY_UPDATES,
                                             BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED};
const size_t brain_stage_n_outputs = 3;

typedef enum {
    JOB_FANOUT,   /* waiting for the known-images read before publishing its image requests */
    JOB_QUEUED,   /* behind an earlier request of its project (parked) */
    JOB_CONTEXT,  /* context read in flight */
    JOB_AWAITING, /* waiting for image facts until its deadline (parked) */
    JOB_DECIDING, /* LLM call in flight */
} job_phase;

typedef struct brain_job brain_job;

typedef struct cached_ctx {
    brain_context ctx;
    int64_t expires_ms;
} cached_ctx;

struct brain_stage {
    bf_runtime *rt;
    const brain_cfg *cfg;
    bf_log *log;
    bf_metrics *metrics;
    brain_store_ops store;
    bool has_store;
    brain_llm_transport llm;
    bool use_llm;
    bool closing;
    brain_tools *tools;  /* the tools' schemas: request, validation */
    brain_llm_opts opts; /* model, mode, temperature, max tokens */
    brain_order *order;
    brain_overlay *overlay;
    brain_late_facts *late;
    brain_map *cache;
    brain_job *jobs; /* every job the stage holds, for shutdown */
    size_t awaiting;
    bf_timer housekeeping;
    bf_metric *m_degraded, *m_truncated, *m_tokens, *m_enriched, *m_fanout, *m_waiting, *m_late_gauge,
        *m_llm_inflight, *m_awaiting, *m_reads;
    bf_metric *m_queue, *m_context, *m_llm, *m_total;
};

struct brain_job {
    brain_stage *st;
    bf_inmsg *msg;
    bf_msg_brain_request req;
    job_phase phase;
    bool head;       /* at the head of its project's queue */
    bool fanned_out; /* its image requests are published */
    char (*trace_ids)[BF_TRACE_ID_LEN + 1]; /* per image URL: "" when already analysed */
    size_t n_missing;                       /* facts not arrived yet */
    brain_image_facts *early;               /* facts that came before the context was read */
    size_t n_early;
    char **enrichments; /* encoded, published right after the decision */
    size_t n_enrichments;
    bf_timer kick;      /* starts the job on the next turn (never recursively from another job) */
    bf_timer deadline;  /* await_image_facts_ms */
    int64_t started_ms, context_ms, llm_ms;
    brain_context ctx;
    brain_prompt_image imgs[BF_MAX_IMAGE_URLS]; /* borrowed by the flow until it is done */
    brain_flow flow;    /* how the decision is reached, and the answer */
    brain_followup fu;  /* the request as the conversation resolves it (prompt, scene) */
    long long turn;     /* this request's turn in its conversation */
    brain_job *prev, *next; /* st->jobs */
};

static const double token_bounds[] = {256, 1024, 4096, 16384, 65536, 131072, 524288, 2097152};

static void housekeeping(bf_timer *t);

brain_stage *brain_stage_new(bf_runtime *rt, const brain_cfg *cfg, const brain_store_ops *store,
                             const brain_llm_transport *llm) {
    brain_stage *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->rt = rt;
    st->cfg = cfg;
    st->log = bf_runtime_log(rt);
    st->metrics = bf_runtime_metrics(rt);
    if (store) st->store = *store;
    st->has_store = store && store->context;
    if (llm) st->llm = *llm;
    st->use_llm = llm && llm->send;
    st->order = brain_order_new();
    st->overlay = brain_overlay_new(OVERLAY_PROJECTS, OVERLAY_TTL_MS);
    st->late = brain_late_facts_new((size_t)cfg->late_facts_max, cfg->late_facts_ttl_ms);
    st->cache = brain_map_new();
    char err[256];
    st->tools = brain_tools_new(err, sizeof err);
    if (!st->tools) bf_log_error(st->log, "tool schemas: %s", err);
    brain_llm_mode mode = BRAIN_LLM_MODE_TOOLS;
    brain_llm_mode_parse(cfg->llm_mode, &mode); /* the config table allows tools|json only */
    st->opts = (brain_llm_opts){.model = cfg->llm_model, .mode = mode, .temperature = cfg->llm_temperature,
                                .max_tokens = cfg->llm_max_tokens, .max_tokens_field = cfg->llm_max_tokens_field};
    if (!st->order || !st->overlay || !st->late || !st->cache || !st->tools) {
        brain_stage_free(st);
        return NULL;
    }
    bf_metrics *metrics = st->metrics;
    st->m_degraded = bf_metrics_counter(metrics, "brain_context_degraded_total",
                                        "Decisions made on a degraded context packet (database unreachable).", NULL);
    st->m_truncated = bf_metrics_counter(metrics, "brain_prompt_truncated_total",
                                         "Prompts cut to fit BRAINFLEET_TOKEN_BUDGET.", NULL);
    st->m_tokens = bf_metrics_histogram(metrics, "brain_prompt_tokens", "Estimated prompt tokens per LLM call.", NULL,
                                        token_bounds, sizeof token_bounds / sizeof token_bounds[0]);
    st->m_enriched = bf_metrics_counter(metrics, "brain_enrichments_total",
                                        "image_facts_enriched messages published for late-arriving facts.", NULL);
    st->m_fanout = bf_metrics_counter(metrics, "brain_image_analysis_requested_total",
                                      "imageAnalysisRequested messages published (new images).", NULL);
    st->m_waiting = bf_metrics_gauge(metrics, "brain_requests_queued",
                                     "Requests waiting behind an earlier request of the same project.", NULL);
    st->m_late_gauge = bf_metrics_gauge(metrics, "brain_late_facts_entries",
                                        "Images whose facts the brain still remembers waiting for.", NULL);
    st->m_llm_inflight = bf_metrics_gauge(metrics, "brain_llm_in_flight", "LLM calls in flight.", NULL);
    st->m_awaiting = bf_metrics_gauge(metrics, "brain_requests_awaiting_facts",
                                      "Requests holding their decision for image facts (await_image_facts_ms).", NULL);
    st->m_reads = bf_metrics_gauge(metrics, "brain_context_reads_in_flight",
                                   "Database reads (context, known images) waiting for an answer.", NULL);
    const char *h = "Brain decision stage durations in seconds.";
    st->m_queue = bf_metrics_histogram(metrics, "brain_stage_seconds", h, "stage=\"queue_wait\"",
                                       bf_metrics_latency_bounds, bf_metrics_latency_n);
    st->m_context = bf_metrics_histogram(metrics, "brain_stage_seconds", h, "stage=\"context\"",
                                         bf_metrics_latency_bounds, bf_metrics_latency_n);
    st->m_llm = bf_metrics_histogram(metrics, "brain_stage_seconds", h, "stage=\"llm\"", bf_metrics_latency_bounds,
                                     bf_metrics_latency_n);
    st->m_total = bf_metrics_histogram(metrics, "brain_stage_seconds", h, "stage=\"total\"",
                                       bf_metrics_latency_bounds, bf_metrics_latency_n);
    bf_timer_init(&st->housekeeping, housekeeping, st);
    bf_timer_start_in(bf_runtime_loop(rt), &st->housekeeping, HOUSEKEEPING_MS);
    return st;
}

static void free_cached(const char *key, void *value, void *ctx) {
    (void)key;
    (void)ctx;
    cached_ctx *c = value;
    brain_context_clear(&c->ctx);
    free(c);
}

static void job_free(brain_job *j);

void brain_stage_close(brain_stage *st) {
    if (st) st->closing = true;
}

void brain_stage_free(brain_stage *st) {
    if (!st) return;
    st->closing = true;
    bf_timer_stop(bf_runtime_loop(st->rt), &st->housekeeping);
    while (st->jobs) job_free(st->jobs);
    brain_order_free(st->order);
    brain_overlay_free(st->overlay);
    brain_late_facts_free(st->late);
    brain_tools_free(st->tools);
    if (st->cache) brain_map_each(st->cache, free_cached, NULL);
    brain_map_free(st->cache);
    free(st);
}

static void count(brain_stage *st, const char *name, const char *help, const char *labels) {
    bf_metric_inc(bf_metrics_counter(st->metrics, name, help, labels));
}

static int64_t now_ms(const brain_stage *st) { return bf_runtime_now(st->rt); }

/* ---- jobs ---- */

static void facts_free(brain_image_facts *f) {
    free(f->trace_id);
    free(f->facts);
    free(f->created_at);
}

static void job_free(brain_job *j) {
    brain_stage *st = j->st;
    bf_loop *loop = bf_runtime_loop(st->rt);
    bf_timer_stop(loop, &j->kick);
    bf_timer_stop(loop, &j->deadline);
    if (j->prev) j->prev->next = j->next;
    else st->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    bf_msg_brain_request_free(&j->req);
    free(j->trace_ids);
    for (size_t i = 0; i < j->n_early; i++) facts_free(&j->early[i]);
    free(j->early);
    for (size_t i = 0; i < j->n_enrichments; i++) free(j->enrichments[i]);
    free(j->enrichments);
    brain_context_clear(&j->ctx);
    brain_flow_clear(&j->flow);
    free(j);
}

/* Publishes json (malloc'd, handed over) for the project on the trace of traceparent. */
static void publish_json(brain_stage *st, bf_inmsg *cause, const char *schema, const char *project,
                         const char *traceparent, char *json) {
    bf_envelope env;
    bf_publish_route(&env, schema, project, traceparent);
    bf_runtime_publish(st->rt, cause, &env, json, strlen(json));
}

/* Facts as a context entry (trace id, the facts JSON minus the ids the prompt already shows). */
static int facts_entry(const bf_image_facts *f, brain_image_facts *out) {
    memset(out, 0, sizeof *out);
    cJSON *o = bf_image_facts_to_json(f);
    if (o) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "trace_id");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "request_id");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "content_hash");
    }
    out->facts = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    out->trace_id = strdup(f->trace_id);
    out->created_at = strdup("just now");
    if (out->facts && out->trace_id && out->created_at) return 0;
    facts_free(out);
    return -1;
}

/* Puts facts that arrived outside the database read at the front (newest first) of the packet,
 * unless the read already had them. Takes f's strings. */
static void merge_facts(brain_context *ctx, brain_image_facts *f) {
    for (size_t i = 0; i < ctx->n_images; i++) {
        if (strcmp(ctx->images[i].trace_id, f->trace_id) == 0) {
            facts_free(f);
            return;
        }
    }
    brain_image_facts *n = realloc(ctx->images, (ctx->n_images + 1) * sizeof *n);
    if (!n) {
        facts_free(f);
        return;
    }
    memmove(n + 1, n, ctx->n_images * sizeof *n);
    n[0] = *f;
    ctx->images = n;
    ctx->n_images++;
}

static void job_complete(brain_stage *st, brain_job *j);
static void llm_done(void *job, long status, const char *body, size_t len, const char *err);

static void job_step(brain_stage *st, brain_job *j, brain_flow_step step, char *body);

/* Decides now: offline rules (published at once) or the first LLM call (llm_done goes on). The
 * flow (brain_flow.h) owns every choice: repair round, fallback, token budget. */
static void job_decide(brain_stage *st, brain_job *j) {
    j->phase = JOB_DECIDING;
    for (size_t i = 0; i < j->req.image_urls.n && i < BF_MAX_IMAGE_URLS; i++)
        j->imgs[i] = (brain_prompt_image){.url = j->req.image_urls.v[i], .trace_id = j->trace_ids[i]};
    brain_flow_input in = {.llm = st->use_llm, .tools = st->tools, .opts = &st->opts,
                           .token_budget = st->cfg->token_budget, .user_prompt = j->fu.prompt,
                           .selected_scene = j->fu.selected_scene, .images = j->imgs,
                           .n_images = j->req.image_urls.n, .ctx = &j->ctx};
    char *body = NULL;
    j->llm_ms = now_ms(st);
    brain_flow_step step = brain_flow_start(&j->flow, &in, &body); /* before body is read */
    job_step(st, j, step, body);
}

/* Sends what the flow asks for, or publishes what it decided. */
static void job_step(brain_stage *st, brain_job *j, brain_flow_step step, char *body) {
    while (step == BRAIN_FLOW_SEND) {
        if (j->flow.rounds == 1) {
            bf_metric_observe(st->m_tokens, (double)j->flow.prompt.tokens);
            if (j->flow.prompt.truncated) bf_metric_inc(st->m_truncated);
        } else {
            char labels[96];
            snprintf(labels, sizeof labels, "code=\"%s\"", j->flow.repair_code ? j->flow.repair_code : "unknown");
            count(st, "brain_llm_repairs_total", "Repair rounds sent to the model, by what was wrong with its answer.",
                  labels);
        }
        char err[256] = "out of memory";
        int rc = st->llm.send(st->llm.impl, body, j, llm_done, err, sizeof err);
        free(body);
        body = NULL;
        if (rc == 0) return; /* llm_done goes on */
        /* Not even sent: the flow takes it as no response and falls back. */
        step = brain_flow_answer(&j->flow, 0, NULL, 0, err, &body);
    }
    free(body);
    j->llm_ms = st->use_llm ? now_ms(st) - j->llm_ms : 0;
    if (step == BRAIN_FLOW_NO_MEMORY) {
        brain_flow_clear(&j->flow);
        j->flow.error_code = "out_of_memory";
        snprintf(j->flow.error_message, sizeof j->flow.error_message, "out of memory deciding");
    }
    job_complete(st, j);
}

static void set_awaiting(brain_stage *st, brain_job *j, bool on) {
    if (on) {
        j->phase = JOB_AWAITING;
        st->awaiting++;
    } else {
        st->awaiting--;
        bf_timer_stop(bf_runtime_loop(st->rt), &j->deadline);
    }
    bf_runtime_park(st->rt, j->msg, on);
}

/* The packet is complete: wait for image facts if the request asked to, else decide. */
static void context_ready(brain_stage *st, brain_job *j) {
    /* The brain's own recent turns first: the next request of a project sees the previous one
     * even when memory-writer has not committed it yet. */
    brain_overlay_apply(st->overlay, j->req.env.project_id, j->req.conversation_id, &j->ctx, now_ms(st));
    long long last = j->ctx.conv.turn_count;
    for (size_t i = 0; i < j->ctx.n_messages; i++)
        if (j->ctx.messages[i].turn > last) last = j->ctx.messages[i].turn;
    j->turn = last + 1;
    brain_followup_resolve(j->req.prompt, j->req.selected_scene_id, &j->ctx.conv, &j->fu);
    for (size_t i = 0; i < j->n_early; i++) merge_facts(&j->ctx, &j->early[i]);
    free(j->early);
    j->early = NULL;
    j->n_early = 0;
    j->context_ms = now_ms(st) - j->started_ms;
    if (j->req.await_image_facts_ms > 0 && j->n_missing > 0) {
        int64_t deadline = j->msg->received_ms + j->req.await_image_facts_ms;
        if (deadline > now_ms(st)) {
            set_awaiting(st, j, true);
            bf_timer_start(bf_runtime_loop(st->rt), &j->deadline, deadline);
            return;
        }
    }
    job_decide(st, j);
}

static void degrade(brain_stage *st, brain_job *j, const char *why) {
    bf_metric_inc(st->m_degraded);
    bf_log_write(st->log, BF_LOG_WARN, j->msg->trace_id, NULL, "context degraded for project %s: %s",
                 j->req.env.project_id, why);
    brain_context_clear(&j->ctx);
    brain_context_degraded(&j->ctx, why, NULL, 0);
}

static void on_context(void *job, char *doc, const char *err) {
    brain_job *j = job;
    brain_stage *st = j->st;
    if (st->closing) {
        free(doc);
        return;
    }
    char why[512];
    if (doc && brain_context_parse(doc, strlen(doc), &j->ctx, why, sizeof why) == 0) {
        const char *project = j->req.env.project_id;
        if (st->cfg->context_cache_ttl_ms > 0 && brain_map_count(st->cache) < 4096) {
            cached_ctx *n = calloc(1, sizeof *n);
            cached_ctx *old = brain_map_remove(st->cache, project);
            if (old) free_cached(project, old, NULL);
            if (n && brain_context_copy(&n->ctx, &j->ctx) == 0 && brain_map_put(st->cache, project, n) == 0) {
                n->expires_ms = now_ms(st) + st->cfg->context_cache_ttl_ms;
            } else if (n) {
                brain_context_clear(&n->ctx);
                free(n);
            }
        }
    } else {
        if (!doc) snprintf(why, sizeof why, "%s", err ? err : "no answer");
        degrade(st, j, why);
    }
    free(doc);
    context_ready(st, j);
}

/* The job heads its project's queue and its image requests are out: read its context. */
static void job_begin(brain_stage *st, brain_job *j) {
    j->phase = JOB_CONTEXT;
    j->started_ms = now_ms(st);
    const char *project = j->req.env.project_id;
    cached_ctx *c = brain_map_get(st->cache, project);
    if (c && c->expires_ms > now_ms(st) && brain_context_copy(&j->ctx, &c->ctx) == 0) {
        context_ready(st, j);
        return;
    }
    if (c) free_cached(project, brain_map_remove(st->cache, project), NULL);
    if (!st->has_store) {
        degrade(st, j, "no database configured");
        context_ready(st, j);
        return;
    }
    if (st->store.context(st->store.impl, project, j->req.conversation_id, st->cfg->conversation_limit,
                          st->cfg->image_context_limit, on_context, j) != 0) {
        degrade(st, j, "out of memory starting the context read");
        context_ready(st, j);
    }
}

static void on_kick(bf_timer *t) {
    brain_job *j = t->data;
    job_begin(j->st, j);
}

/* Starts the job once it is both at the head of its project and fanned out. */
static void maybe_begin(brain_stage *st, brain_job *j) {
    if (j->head && j->fanned_out && j->phase == JOB_QUEUED) bf_timer_start_in(bf_runtime_loop(st->rt), &j->kick, 0);
}

static void publish_decision(brain_stage *st, brain_job *j) {
    int64_t now = now_ms(st);
    brain_flow *f = &j->flow;
    if (brain_answer_name_new_scenes(&f->answer, j->req.request_id) != 0)
        bf_log_write(st->log, BF_LOG_ERROR, j->msg->trace_id, NULL, "out of memory naming new scenes");
    if (f->answer.summary == NULL && f->answer.tool != BRAIN_TOOL_CLARIFY) {
        /* Out of memory in a decider leaves no answer: ask rather than publish nothing. */
        brain_answer_clear(&f->answer);
        f->answer.summary = strdup("The brain could not decide.");
        brain_answer_clarify(&f->answer, "Sorry, something went wrong. Could you say that again?");
    }
    const char **ids = calloc(j->ctx.n_images + 1, sizeof *ids);
    size_t n_ids = 0;
    for (size_t i = 0; ids && i < j->ctx.n_images; i++)
        if (bf_trace_id_valid(j->ctx.images[i].trace_id)) ids[n_ids++] = j->ctx.images[i].trace_id;
    brain_outcome o = {
        .project_id = j->req.env.project_id, .request_id = j->req.request_id, .traceparent = j->msg->traceparent,
        .answer = &f->answer, .model = f->decider == BF_DECIDER_LLM ? st->cfg->llm_model : "rule-based",
        .decider = f->decider, .reason = f->reason, .repair_round = f->repair_round, .degraded = j->ctx.degraded,
        .prompt_tokens = f->prompt_tokens, .completion_tokens = f->completion_tokens,
        .budget_tokens = st->cfg->token_budget, .truncated = f->prompt.truncated,
        .dropped_messages = f->prompt.dropped_messages, .dropped_images = f->prompt.dropped_images,
        .dropped_memory = f->prompt.dropped_memory, .image_trace_ids = ids, .n_image_trace_ids = n_ids,
        .timings = {.queue_wait_ms = j->started_ms - j->msg->received_ms, .context_ms = j->context_ms,
                    .llm_ms = j->llm_ms, .total_ms = now - j->msg->received_ms},
        .error_code = f->error_code, .error_message = f->error_message,
    };
    if (o.timings.queue_wait_ms < 0) o.timings.queue_wait_ms = 0;
    char err[512];
    char *json = brain_outcome_decision_encode(&o, bf_runtime_wall(st->rt), err, sizeof err);
    free(ids);
    if (!json) {
        bf_log_write(st->log, BF_LOG_ERROR, j->msg->trace_id, NULL, "decision for %s not encodable: %s",
                     j->req.request_id, err);
        bf_runtime_dead_letter(st->rt, j->msg, "decision_unencodable", err);
        return;
    }
    const char *project = j->req.env.project_id;
    publish_json(st, j->msg, BF_SCHEMA_BRAIN_DECISIONS, project, j->msg->traceparent, json);
    /* Where the conversation stands now: written for memory-writer, and remembered here for the
     * project's next request, which may start before memory-writer has committed it. */
    brain_conversation after;
    bool have_after = brain_followup_after(&j->ctx.conv, &f->answer, j->req.request_id, j->turn, j->fu.prompt,
                                           &j->ctx, &after) == 0;
    brain_memory_input mi = {.project_id = project, .request_id = j->req.request_id,
                             .request_produced_ms = j->req.env.produced_at_ms,
                             .traceparent = j->msg->traceparent, .conversation_id = j->req.conversation_id,
                             .prompt = j->req.prompt, .answer = &f->answer,
                             .image_urls = (const char *const *)j->req.image_urls.v, .n_images = j->req.image_urls.n,
                             .turn = j->turn, .conversation = have_after ? &after : NULL};
    json = brain_memory_encode(&mi, bf_runtime_wall(st->rt), err, sizeof err);
    if (json) publish_json(st, j->msg, BF_SCHEMA_MEMORY_UPDATES, project, j->msg->traceparent, json);
    else bf_log_write(st->log, BF_LOG_ERROR, j->msg->trace_id, NULL, "memory update not encodable: %s", err);
    if (have_after) {
        const char *scene_name = NULL, *scene = brain_followup_new_scene(&f->answer, &scene_name);
        const brain_answer *a = &f->answer;
        const char *reply = a->tool == BRAIN_TOOL_CLARIFY && a->question ? a->question : a->summary;
        brain_turn t = {.conversation_id = j->req.conversation_id, .turn = j->turn, .user_text = j->req.prompt,
                        .assistant_text = reply ? reply : "", .state = &after, .new_scene_id = scene,
                        .new_scene_name = scene_name};
        if (brain_overlay_record(st->overlay, project, &t, now_ms(st)) != 0)
            bf_log_write(st->log, BF_LOG_WARN, j->msg->trace_id, NULL, "out of memory remembering the turn");
        brain_conversation_clear(&after);
    }
    for (size_t i = 0; i < j->n_enrichments; i++) {
        publish_json(st, j->msg, BF_SCHEMA_BRAIN_DECISIONS, project, j->msg->traceparent, j->enrichments[i]);
        j->enrichments[i] = NULL;
        bf_metric_inc(st->m_enriched);
    }
    char labels[128];
    const char *who = bf_decider_name(f->decider), *why = bf_decided_reason_name(f->reason);
    snprintf(labels, sizeof labels, "decider=\"%s\",reason=\"%s\"", who ? who : "none", why ? why : "none");
    count(st, "brain_decisions_total", "Decisions published, by who decided and why.", labels);
    if (f->error_code) {
        snprintf(labels, sizeof labels, "code=\"%s\"", f->error_code);
        count(st, "brain_decision_errors_total", "Decisions published with an error, by code.", labels);
    }
    bf_metric_observe(st->m_queue, (double)o.timings.queue_wait_ms / 1000.0);
    bf_metric_observe(st->m_context, (double)o.timings.context_ms / 1000.0);
    if (st->use_llm) bf_metric_observe(st->m_llm, (double)o.timings.llm_ms / 1000.0);
    bf_metric_observe(st->m_total, (double)o.timings.total_ms / 1000.0);
}

/* Publishes a decided job, finishes its message and lets the project's next request start. */
static void job_complete(brain_stage *st, brain_job *j) {
    publish_decision(st, j);
    for (size_t i = 0; i < j->req.image_urls.n; i++)
        if (j->trace_ids[i][0]) brain_late_facts_decided(st->late, j->trace_ids[i]);
    bf_runtime_finish(st->rt, j->msg);
    brain_job *next = brain_order_done(st->order, j->req.env.project_id);
    job_free(j);
    if (next) {
        next->head = true;
        bf_runtime_park(st->rt, next->msg, false);
        maybe_begin(st, next);
    }
}

static void llm_done(void *job, long status, const char *body, size_t len, const char *err) {
    brain_job *j = job;
    brain_stage *st = j->st;
    if (st->closing) return;
    char *next = NULL;
    brain_flow_step step = brain_flow_answer(&j->flow, status, body, len, err, &next);
    if (step == BRAIN_FLOW_DONE && j->flow.error_code) {
        char path[64];
        brain_flow_path(&j->flow, path, sizeof path);
        bf_log_write(st->log, BF_LOG_WARN, j->msg->trace_id, NULL, "request %s decided by %s: %s", j->req.request_id,
                     path, j->flow.error_message);
    }
    job_step(st, j, step, next);
}

static void on_deadline(bf_timer *t) {
    brain_job *j = t->data;
    /* Deadline: decide with whatever facts arrived. */
    set_awaiting(j->st, j, false);
    job_decide(j->st, j);
}

/* ---- brainRequests ---- */

/* A prefix of s of at most max bytes that does not end inside a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n <= max) return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

/* The image trace id of image i of j's request (32 hex, never all zero). */
static void image_trace_id(const brain_job *j, size_t i, char out[BF_TRACE_ID_LEN + 1]) {
    char name[BF_UUID_LEN + 32], hex[BF_SHA256_HEX_LEN + 1];
    int n = snprintf(name, sizeof name, "image:%s:%zu", j->req.env.event_id, i);
    bf_sha256_hex(name, (size_t)n, hex);
    memcpy(out, hex, BF_TRACE_ID_LEN);
    out[BF_TRACE_ID_LEN] = '\0';
    if (!bf_trace_id_valid(out)) out[BF_TRACE_ID_LEN - 1] = '1'; /* 2^-128: all zero */
}

/* Publishes one imageAnalysisRequested per image not known[i], then lets the job start. */
static void fan_out(brain_stage *st, brain_job *j, const int *known) {
    size_t n = j->req.image_urls.n;
    char err[256];
    char excerpt[BF_CONTEXT_TEXT_MAX + 1];
    snprintf(excerpt, sizeof excerpt, "%.*s", (int)utf8_prefix(j->req.prompt, BF_CONTEXT_TEXT_MAX), j->req.prompt);
    for (size_t i = 0; i < n; i++) {
        if (known && known[i]) continue;
        /* Derived from the request's event id and the image's position, never from user text (the
         * first version used the prompt): a request decided again after a crash asks for the same
         * analyses under the same ids, so nothing downstream counts an upload twice. */
        image_trace_id(j, i, j->trace_ids[i]);
        bf_msg_image_analysis_requested m;
        memset(&m, 0, sizeof m);
        if (bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, j->req.env.project_id, j->msg->traceparent,
                             WORKER, bf_runtime_wall(st->rt), err, sizeof err) != 0) {
            j->trace_ids[i][0] = '\0';
            continue;
        }
        char name[BF_UUID_LEN + 48];
        snprintf(name, sizeof name, "imageAnalysisRequested:%s:%zu", j->req.env.event_id, i);
        bf_uuid_v7_derived(j->req.env.produced_at_ms, name, m.env.event_id);
        snprintf(m.request_id, sizeof m.request_id, "%s", j->req.request_id);
        memcpy(m.image_trace_id, j->trace_ids[i], sizeof m.image_trace_id);
        m.url = j->req.image_urls.v[i];
        m.conversation_id = j->req.conversation_id;
        m.scene_id = j->req.selected_scene_id;
        m.prompt_excerpt = excerpt;
        char *json = bf_msg_image_analysis_requested_encode(&m, err, sizeof err);
        if (!json) {
            bf_log_write(st->log, BF_LOG_ERROR, j->msg->trace_id, NULL, "imageAnalysisRequested not encodable: %s", err);
            j->trace_ids[i][0] = '\0';
            continue;
        }
        bf_runtime_publish(st->rt, j->msg, &m.env, json, strlen(json));
        bf_metric_inc(st->m_fanout);
        if (brain_late_facts_expect(st->late, j->trace_ids[i], j->req.request_id, j, now_ms(st)) == 0) j->n_missing++;
    }
    j->fanned_out = true;
    j->phase = JOB_QUEUED;
    maybe_begin(st, j);
}

static void on_known(void *job, const int *known, size_t n, const char *err) {
    (void)n;
    brain_job *j = job;
    brain_stage *st = j->st;
    if (st->closing) return;
    if (err)
        bf_log_write(st->log, BF_LOG_WARN, j->msg->trace_id, NULL, "known-image check failed (%s); analysing all", err);
    fan_out(st, j, err ? NULL : known);
}

static bf_handle_result handle_request(brain_stage *st, bf_inmsg *msg) {
    brain_job *j = calloc(1, sizeof *j);
    char err[512];
    if (!j) {
        bf_runtime_dead_letter(st->rt, msg, "out_of_memory", "out of memory");
        return BF_HANDLED;
    }
    if (bf_msg_brain_request_decode(msg->payload, msg->len, &j->req, err, sizeof err) != 0) {
        free(j);
        bf_runtime_dead_letter(st->rt, msg, "invalid_message", err);
        return BF_HANDLED;
    }
    j->st = st;
    j->msg = msg;
    j->phase = JOB_FANOUT;
    bf_timer_init(&j->kick, on_kick, j);
    bf_timer_init(&j->deadline, on_deadline, j);
    j->trace_ids = calloc(j->req.image_urls.n + 1, sizeof *j->trace_ids);
    int head = j->trace_ids ? brain_order_push(st->order, j->req.env.project_id, j) : -1;
    if (head < 0) {
        bf_msg_brain_request_free(&j->req);
        free(j->trace_ids);
        free(j);
        bf_runtime_dead_letter(st->rt, msg, "out_of_memory", "out of memory queueing the request");
        return BF_HANDLED;
    }
    j->next = st->jobs;
    if (st->jobs) st->jobs->prev = j;
    st->jobs = j;
    j->head = head == 1;
    /* Behind an earlier request of its project: it must not hold a slot another project needs. */
    if (!j->head) bf_runtime_park(st->rt, msg, true);
    size_t n = j->req.image_urls.n;
    if (n > 0 && st->has_store &&
        st->store.known_images(st->store.impl, j->req.env.project_id, (const char *const *)j->req.image_urls.v, n,
                               on_known, j) == 0)
        return BF_PENDING;
    fan_out(st, j, NULL);
    return BF_PENDING;
}

/* ---- imageFactsProcessed ---- */

static void facts_for_job(brain_stage *st, brain_job *j, const bf_msg_image_facts_processed *f, bf_inmsg *msg) {
    if (j->n_missing) j->n_missing--;
    /* The decision is being made without them, or the image could not be analysed (the facts say
     * why; they count as arrived, so a request waiting for them is released): the enrichment
     * follows the decision, so the editor hears about the image either way. */
    if (j->phase == JOB_DECIDING || f->facts.not_analysed) {
        char err[256];
        char *json = brain_outcome_enrichment_encode(j->req.env.project_id, j->req.request_id, j->msg->traceparent,
                                                     &f->facts, bf_runtime_wall(st->rt), err, sizeof err);
        char **n = json ? realloc(j->enrichments, (j->n_enrichments + 1) * sizeof *n) : NULL;
        if (n) {
            j->enrichments = n;
            j->enrichments[j->n_enrichments++] = json;
        } else {
            free(json);
            bf_log_write(st->log, BF_LOG_ERROR, msg->trace_id, NULL, "enrichment not encodable: %s", err);
        }
        if (j->phase == JOB_DECIDING) return;
    }
    brain_image_facts e;
    if (facts_entry(&f->facts, &e) != 0) return;
    if (j->phase != JOB_AWAITING) {
        /* Before or during the context read: merged when the packet is complete. */
        brain_image_facts *n = realloc(j->early, (j->n_early + 1) * sizeof *n);
        if (!n) {
            facts_free(&e);
            return;
        }
        j->early = n;
        j->early[j->n_early++] = e;
        return;
    }
    merge_facts(&j->ctx, &e);
    if (j->n_missing == 0) {
        set_awaiting(st, j, false);
        job_decide(st, j);
    }
}

static void handle_facts(brain_stage *st, bf_inmsg *msg) {
    bf_msg_image_facts_processed f;
    char err[512];
    if (bf_msg_image_facts_processed_decode(msg->payload, msg->len, &f, err, sizeof err) != 0) {
        bf_runtime_dead_letter(st->rt, msg, "invalid_message", err);
        return;
    }
    cached_ctx *c = brain_map_remove(st->cache, f.env.project_id);
    if (c) free_cached(f.env.project_id, c, NULL);
    void *job = NULL;
    brain_late_result r = brain_late_facts_arrived(st->late, f.trace_id, now_ms(st), &job);
    bool enrich = r == BRAIN_LATE_ENRICH;
    if (r == BRAIN_LATE_UNKNOWN) {
        /* Not in memory (restart, rebalance, eviction): the facts name their request, and only the
         * brain mints image trace ids, so this is a request of ours that was decided. */
        int64_t t = bf_uuid_v7_time_ms(f.request_id);
        enrich = t < 0 || bf_runtime_wall(st->rt) - t < st->cfg->late_facts_ttl_ms;
    }
    if (r == BRAIN_LATE_UNDECIDED && job) {
        facts_for_job(st, job, &f, msg);
    } else if (enrich) {
        char *json = brain_outcome_enrichment_encode(f.env.project_id, f.request_id, msg->traceparent, &f.facts,
                                                     bf_runtime_wall(st->rt), err, sizeof err);
        if (json) {
            publish_json(st, msg, BF_SCHEMA_BRAIN_DECISIONS, f.env.project_id, msg->traceparent, json);
            bf_metric_inc(st->m_enriched);
        } else {
            bf_log_write(st->log, BF_LOG_ERROR, msg->trace_id, NULL, "enrichment not encodable: %s", err);
        }
    }
    bf_msg_image_facts_processed_free(&f);
}

/* ---- runtime ops ---- */

static bf_handle_result op_handle(void *stage, bf_inmsg *msg) {
    brain_stage *st = stage;
    if (strcmp(msg->topic_base, BF_SCHEMA_BRAIN_REQUESTS) == 0) return handle_request(st, msg);
    handle_facts(st, msg);
    return BF_HANDLED;
}

static void housekeeping(bf_timer *t) {
    brain_stage *st = t->data;
    brain_late_facts_expire(st->late, now_ms(st));
    bf_metric_set(st->m_awaiting, (double)st->awaiting);
    bf_metric_set(st->m_waiting, (double)brain_order_waiting(st->order));
    bf_metric_set(st->m_late_gauge, (double)brain_late_facts_count(st->late));
    if (st->llm.in_flight) bf_metric_set(st->m_llm_inflight, (double)st->llm.in_flight(st->llm.impl));
    if (st->has_store && st->store.pending) bf_metric_set(st->m_reads, (double)st->store.pending(st->store.impl));
    bf_timer_start_in(bf_runtime_loop(st->rt), t, HOUSEKEEPING_MS);
}

bf_stage_ops brain_stage_ops(void) { return (bf_stage_ops){.handle = op_handle}; }
