/* What every worker's main does before its stage starts: `--help`/`--help-markdown`, loading
 * the common and the stage's configuration tables (a bad value exits 2 naming the variable),
 * JSON logging and the metrics registry. */
#ifndef BF_APP_H
#define BF_APP_H

#include "bf_common_config.h"
#include "bf_log.h"
#include "bf_metrics.h"

typedef struct bf_app {
    const char *worker;
    bf_common_cfg cfg;
    bf_log log;
    bf_metrics *metrics; /* owned; freed by bf_app_cleanup */
} bf_app;

#define BF_APP_CONTINUE (-1)

/* Returns BF_APP_CONTINUE to go on, or the exit status main should return: 0 after printing
 * help, 2 on bad configuration, 1 otherwise.
 * stage_vars/stage_cfg may be NULL/0. usage is the first paragraph of --help. */
int bf_app_init(bf_app *app, const char *worker, const char *usage, int argc, char **argv,
                const bf_cfg_var *stage_vars, size_t n_stage, void *stage_cfg);
void bf_app_cleanup(bf_app *app);

#endif
