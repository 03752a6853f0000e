#include "bf_app.h"

#include <stdio.h>
#include <string.h>

int bf_app_init(bf_app *app, const char *worker, const char *usage, int argc, char **argv,
                const bf_cfg_var *stage_vars, size_t n_stage, void *stage_cfg) {
    memset(app, 0, sizeof *app);
    app->worker = worker;
    const bf_cfg_var *tables[] = {bf_common_cfg_vars, stage_vars};
    size_t ns[] = {bf_common_cfg_n, n_stage};
    size_t count = stage_vars ? 2 : 1;
    /* docs/configuration.md is generated from these: the shared table once, then each worker's own. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help-markdown-common") == 0) {
            bf_config_print_markdown(stdout, "Shared by every worker", tables, ns, 1);
            return 0;
        }
        if (strcmp(argv[i], "--help-markdown") == 0) {
            if (stage_vars) bf_config_print_markdown(stdout, worker, tables + 1, ns + 1, 1);
            return 0;
        }
    }
    if (bf_config_handle_help(argc, argv, usage, tables, ns, count)) return 0;
    char err[1024];
    bf_log_init(&app->log, stderr, worker, BF_LOG_INFO);
    if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &app->cfg, NULL, NULL, err, sizeof err) != 0 ||
        (stage_vars && bf_config_load(stage_vars, n_stage, stage_cfg, NULL, NULL, err, sizeof err) != 0)) {
        fprintf(stderr, "%s: configuration error: %s\n(see %s --help)\n", worker, err, worker);
        return 2;
    }
    app->log.min_level = (bf_log_level)bf_log_level_parse(app->cfg.log_level);
    app->metrics = bf_metrics_new();
    if (!app->metrics) {
        fprintf(stderr, "%s: out of memory\n", worker);
        return 1;
    }
    return BF_APP_CONTINUE;
}

void bf_app_cleanup(bf_app *app) {
    bf_metrics_free(app->metrics);
    app->metrics = NULL;
}
