/* memory-writer: wiring only. `run` consumes imageFactsReady, memoryUpdates and editorEvents into PostgreSQL
 * (memory_stage.c), `migrate` applies the schema, `cleanup` applies retention. */
#include <signal.h>
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

/* Set by SIGTERM/SIGINT while run mode waits for the schema, before the runtime takes signals over. */
static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static const char usage[] =
    "Usage: memory-writer [run|migrate [--dry-run]|cleanup] [--help] [--version]\n"
    "\n"
    "  run      (default) consume imageFactsReady, memoryUpdates and editorEvents, persist them to\n"
    "           PostgreSQL in batches, idempotently (the storyboard of record, scene relationships,\n"
    "           conversation context), derive preferences, then publish imageFactsProcessed.\n"
    "           Waits, not ready, while the database schema is behind this build's migrations.\n"
    "  migrate  apply the embedded SQL migrations to BRAINFLEET_PG_DSN and exit; idempotent, and\n"
    "           serialised by an advisory lock, so every replica may run it (an init container).\n"
    "           --dry-run lists applied and pending migrations and changes nothing.\n"
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

/* Refuses to consume into a database the migrations have not reached: every write to a missing
 * table or column would be dead-lettered as db_rejected. */
static int wait_for_schema(bf_app *app) {
    struct sigaction sa = {0}, old_term, old_int;
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    char err[512];
    bf_migrate_wait_opts o = {.dsn = app->cfg.pg_dsn, .http_bind = app->cfg.http_bind,
                              .http_port = (int)app->cfg.http_port, .metrics = app->metrics, .log = &app->log,
                              .stop = &g_stop, .recheck_ms = 5000};
    int rc = bf_migrate_wait_current(&o, err, sizeof err);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    if (rc < 0) bf_log_error(&app->log, "schema check: %s", err);
    return rc;
}

static int run_stage(bf_app *app, const memory_cfg *mcfg) {
    char err[1024];
    int gate = wait_for_schema(app);
    if (gate != 0) return gate > 0 ? 0 : 1;
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
    static const char *const migrate_flags[] = {"--dry-run", NULL};
    static const bf_app_command commands[] = {{"run", NULL}, {"migrate", migrate_flags}, {"cleanup", NULL}};
    bf_app app;
    memory_cfg mcfg;
    const bf_app_spec spec = {.worker = "memory-writer", .usage = usage, .commands = commands, .n_commands = 3,
                              .stage_vars = memory_cfg_vars, .n_stage = memory_cfg_n, .stage_cfg = &mcfg};
    int rc = bf_app_init(&app, &spec, argc, argv);
    if (rc != BF_APP_CONTINUE) return rc;
    const char *command = app.command;
    if (strcmp(command, "migrate") == 0 && bf_app_flag(&app, "--dry-run"))
        rc = bf_migrate_dry_run(app.cfg.pg_dsn, &app.log, stdout);
    else if (strcmp(command, "migrate") == 0) rc = bf_migrate_command(app.cfg.pg_dsn, &app.log);
    else if (strcmp(command, "cleanup") == 0) rc = run_cleanup(&app, &mcfg);
    else rc = run_stage(&app, &mcfg);
    bf_app_cleanup(&app);
    return rc;
}
