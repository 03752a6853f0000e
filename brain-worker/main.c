/* brain-worker: wiring only. The stage (brain_stage.c) consumes brainRequests and
 * imageFactsProcessed; this file loads configuration, opens the database and the LLM transport,
 * and runs the Kafka runtime. */
#include <stdio.h>
#include <string.h>

#include "bf_app.h"
#include "bf_db.h"
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
    bf_db *db = NULL;
    if (app.cfg.pg_dsn[0]) {
        db = bf_db_new(app.cfg.pg_dsn, &app.log);
        char err[512];
        /* Not fatal: the brain decides on degraded packets until the database is back. */
        if (db && bf_db_connect(db, 1, 100, err, sizeof err) != 0)
            bf_log_warn(&app.log, "PostgreSQL not reachable at start (%s); deciding on degraded context", err);
    } else {
        bf_log_warn(&app.log, "BRAINFLEET_PG_DSN is empty: every decision uses a degraded context packet");
    }
    brain_http *http = NULL;
    brain_llm_transport transport = {0};
    if (bcfg.llm_url[0]) {
        char err[512];
        http = brain_http_new(&bcfg, (long)app.cfg.max_in_flight, &app.log, err, sizeof err);
        if (!http) {
            bf_log_error(&app.log, "LLM client: %s", err);
            bf_db_free(db);
            bf_app_cleanup(&app);
            return 1;
        }
        transport = brain_http_transport(http);
        bf_log_info(&app.log, "LLM model %s (temperature %.2f)", bcfg.llm_model, bcfg.llm_temperature);
    } else {
        bf_log_info(&app.log, "no BRAINFLEET_LLM_URL: rule-based decider");
    }
    brain_stage *st = brain_stage_new(&bcfg, db, http ? &transport : NULL, &app.log, app.metrics);
    bf_runtime *rt = NULL;
    if (st) {
        bf_runtime_opts o = {.worker = "brain-worker", .cfg = &app.cfg, .input_topics = brain_stage_inputs,
                             .n_inputs = brain_stage_n_inputs, .output_topics = brain_stage_outputs,
                             .n_outputs = brain_stage_n_outputs, .ops = brain_stage_ops(st), .ctx = st,
                             .log = &app.log, .metrics = app.metrics, .envp = environ};
        char err[1024];
        rt = bf_runtime_new(&o, err, sizeof err);
        if (!rt) bf_log_error(&app.log, "runtime: %s", err);
    } else {
        bf_log_error(&app.log, "out of memory creating the stage");
    }
    if (rt) rc = bf_runtime_run(rt) == 0 ? 0 : 1;
    bf_runtime_free(rt);
    brain_stage_free(st);
    brain_http_free(http);
    bf_db_free(db);
    bf_app_cleanup(&app);
    return rc;
}
