/* memory-writer: wiring only. `run` consumes imageFactsReady and memoryUpdates into PostgreSQL
 * (memory_stage.c), `migrate` applies the schema, `cleanup` applies retention. */
#include <stdio.h>
#include <string.h>

#include "bf_app.h"
#include "bf_db.h"
#include "bf_migrate.h"
#include "bf_runtime.h"
#include "memory_cleanup.h"
#include "memory_config.h"
#include "memory_stage.h"

extern char **environ;

static const char usage[] =
    "Usage: memory-writer [run|migrate|cleanup] [--help]\n"
    "\n"
    "  run      (default) consume imageFactsReady and memoryUpdates, persist them to PostgreSQL in\n"
    "           batches, idempotently, derive preferences, then publish imageFactsProcessed.\n"
    "  migrate  apply the embedded SQL migrations to BRAINFLEET_PG_DSN and exit.\n"
    "  cleanup  delete image analyses and conversation context past their retention, and rows past\n"
    "           expires_at, in bounded batches; print the counts and exit.";

static int run_cleanup(bf_app *app, const memory_cfg *mcfg) {
    char err[1024];
    bf_db *db = bf_db_new(app->cfg.pg_dsn, &app->log);
    if (!db) return 1;
    int rc = 1;
    memory_cleanup_counts n;
    memory_cleanup_opts o = {.image_analysis_ms = mcfg->retention_image_ms,
                             .conversation_ms = mcfg->retention_conversation_ms,
                             .ledger_ms = mcfg->retention_ledger_ms,
                             .consumer = MEMORY_CONSUMER,
                             .batch = mcfg->cleanup_batch};
    if (bf_db_connect(db, 10, 500, err, sizeof err) != 0) {
        bf_log_error(&app->log, "cleanup: cannot connect: %s", err);
    } else {
        int failed = memory_cleanup_run(db, &o, &n, err, sizeof err);
        /* Counts go to stdout even after a failure: what was deleted stays deleted. */
        printf("image_analysis\t%lld\nconversation_context\t%lld\nmessages\t%lld\n"
               "expired_memory\t%lld\nprocessed_events\t%lld\n",
               n.image_analyses, n.conversation_context, n.messages, n.expired_memory, n.ledger);
        if (failed) bf_log_error(&app->log, "cleanup: %s", err);
        rc = failed ? 1 : 0;
    }
    bf_db_free(db);
    return rc;
}

static int run_stage(bf_app *app, const memory_cfg *mcfg) {
    char err[1024];
    bf_runtime_opts o = {.worker = "memory-writer", .cfg = &app->cfg, .input_topics = memory_stage_inputs,
                         .n_inputs = memory_stage_n_inputs, .output_topics = memory_stage_outputs,
                         .n_outputs = memory_stage_n_outputs, .log = &app->log, .metrics = app->metrics,
                         .envp = environ};
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    memory_stage *stage = NULL;
    int rc = 1;
    if (!rt) {
        bf_log_error(&app->log, "runtime: %s", err);
    } else if (!(stage = memory_stage_new(rt, mcfg, NULL, err, sizeof err))) {
        bf_log_error(&app->log, "%s", err);
    } else {
        bf_stage_ops ops = memory_stage_ops();
        rc = bf_runtime_run(rt, &ops, stage) == 0 ? 0 : 1;
    }
    memory_stage_free(stage);
    bf_runtime_free(rt);
    return rc;
}

int main(int argc, char **argv) {
    const char *command = "run";
    if (argc > 1 && argv[1][0] != '-') command = argv[1];
    if (strcmp(command, "run") != 0 && strcmp(command, "migrate") != 0 && strcmp(command, "cleanup") != 0) {
        fprintf(stderr, "memory-writer: unknown command '%s' (expected run, migrate or cleanup; see --help)\n",
                command);
        return 2;
    }
    bf_app app;
    memory_cfg mcfg;
    int rc = bf_app_init(&app, "memory-writer", usage, argc, argv, memory_cfg_vars, memory_cfg_n, &mcfg);
    if (rc != BF_APP_CONTINUE) return rc;
    if (strcmp(command, "migrate") == 0) rc = bf_migrate_command(app.cfg.pg_dsn, &app.log);
    else if (strcmp(command, "cleanup") == 0) rc = run_cleanup(&app, &mcfg);
    else rc = run_stage(&app, &mcfg);
    bf_app_cleanup(&app);
    return rc;
}
