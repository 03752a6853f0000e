/* memory-writer: wiring only. `run` consumes imageFactsReady and memoryUpdates into PostgreSQL
 * (memory_stage.c), `migrate` applies the schema, `cleanup` applies retention. */
#include <stdio.h>
#include <string.h>

#include "bf_app.h"
#include "bf_migrate.h"
#include "memory_config.h"

static const char usage[] =
    "Usage: memory-writer [run|migrate|cleanup] [--help]\n"
    "\n"
    "  run      (default) consume imageFactsReady and memoryUpdates, persist them to PostgreSQL in\n"
    "           batches, idempotently, derive preferences, then publish imageFactsProcessed.\n"
    "  migrate  apply the embedded SQL migrations to BRAINFLEET_PG_DSN and exit.\n"
    "  cleanup  delete image analyses and conversation context past their retention, and rows past\n"
    "           expires_at, in bounded batches; print the counts and exit.";

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
    if (strcmp(command, "migrate") == 0) {
        rc = bf_migrate_command(app.cfg.pg_dsn, &app.log);
    } else {
        bf_log_error(&app.log, "%s: not implemented yet", command);
        rc = 1;
    }
    bf_app_cleanup(&app);
    return rc;
}
