/* brain-worker: wiring only. The stage (brain_stage.c) consumes brainRequests and
 * imageFactsProcessed; this file loads configuration, opens the database and the LLM transport,
 * and runs the Kafka runtime. */
#include <stdio.h>
#include <string.h>

#include "bf_app.h"
#include "bf_runtime.h"
#include "brain_config.h"
#include "brain_http.h"
#include "brain_stage.h"

extern char **environ;

static const char usage[] =
    "Usage: brain-worker [--help] [--version]\n"
    "\n"
    "Consumes brainRequests: publishes imageAnalysisRequested for each new image at once, builds the\n"
    "project's context packet from PostgreSQL, asks the LLM (BRAINFLEET_LLM_URL) or the rule-based\n"
    "decider for a decision, publishes it to brainDecisions and what it learnt to memoryUpdates.\n"
    "Consumes imageFactsProcessed: late-arriving facts enrich decided requests on brainDecisions.";

int main(int argc, char **argv) {
    bf_app app;
    brain_cfg bcfg;
    const bf_app_spec spec = {.worker = "brain-worker", .usage = usage, .stage_vars = brain_cfg_vars, .n_stage = brain_cfg_n,
                              .stage_cfg = &bcfg};
    int rc = bf_app_init(&app, &spec, argc, argv);
    if (rc != BF_APP_CONTINUE) return rc;
    rc = 1;
    char err[1024];
    bf_runtime_opts o = {.worker = "brain-worker", .cfg = &app.cfg, .input_topics = brain_stage_inputs,
                         .n_inputs = brain_stage_n_inputs, .output_topics = brain_stage_outputs,
                         .n_outputs = brain_stage_n_outputs, .log = &app.log, .metrics = app.metrics,
                         .envp = environ};
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    if (!rt) {
        bf_log_error(&app.log, "runtime: %s", err);
        bf_app_cleanup(&app);
        return 1;
    }
    brain_store *store = NULL;
    brain_store_ops store_ops = {0};
    if (app.cfg.pg_dsn[0]) {
        /* Connects in the background: until it answers, decisions use a degraded packet. */
        store = brain_store_new(bf_runtime_loop(rt), app.cfg.pg_dsn, (size_t)bcfg.db_pool_size,
                                bcfg.db_statement_timeout_ms, &app.log, err, sizeof err);
        if (!store) bf_log_error(&app.log, "database: %s", err);
        else store_ops = brain_store_ops_of(store);
    } else {
        bf_log_warn(&app.log, "BRAINFLEET_PG_DSN is empty: every decision uses a degraded context packet");
    }
    brain_http *http = NULL;
    brain_llm_transport transport = {0};
    if (bcfg.llm_url[0]) {
        http = brain_http_new(bf_runtime_loop(rt), &bcfg, (long)app.cfg.max_in_flight, &app.log, err, sizeof err);
        if (!http) bf_log_error(&app.log, "LLM client: %s", err);
        else transport = brain_http_transport(http);
        bf_log_info(&app.log, "LLM model %s (temperature %.2f)", bcfg.llm_model, bcfg.llm_temperature);
    } else {
        bf_log_info(&app.log, "no BRAINFLEET_LLM_URL: rule-based decider");
    }
    brain_stage *st = NULL;
    if ((!app.cfg.pg_dsn[0] || store) && (!bcfg.llm_url[0] || http)) {
        st = brain_stage_new(rt, &bcfg, store ? &store_ops : NULL, http ? &transport : NULL);
        if (!st) bf_log_error(&app.log, "out of memory creating the stage");
    }
    if (st) {
        bf_stage_ops ops = brain_stage_ops();
        rc = bf_runtime_run(rt, &ops, st) == 0 ? 0 : 1;
    }
    /* Pending reads and calls are cancelled; the stage ignores their callbacks from now on. */
    brain_stage_close(st);
    brain_http_free(http);
    brain_store_free(store);
    brain_stage_free(st);
    bf_runtime_free(rt);
    bf_app_cleanup(&app);
    return rc;
}
