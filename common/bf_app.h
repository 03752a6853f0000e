/* What every worker's main does before its stage starts: the command line (a subcommand, its
 * flags, `--help`, `--version`; anything else exits 2 with the usage), loading the common and the
 * stage's configuration tables (a bad value, a malformed PostgreSQL DSN included, exits 2 naming
 * the variable), JSON logging and the metrics registry with brainfleet_build_info and the
 * standard process_* metrics. */
#ifndef BF_APP_H
#define BF_APP_H

#include <stdbool.h>

#include "bf_common_config.h"
#include "bf_log.h"
#include "bf_metrics.h"

/* One subcommand a worker takes ("run", "migrate") and the flags it accepts. */
typedef struct bf_app_command {
    const char *name;
    const char *const *flags; /* NULL-terminated ("--dry-run", NULL), or NULL for none */
} bf_app_command;

typedef struct bf_app_spec {
    const char *worker;
    const char *usage;                /* the first paragraph of --help */
    const bf_app_command *commands;   /* NULL: the worker takes no subcommand */
    size_t n_commands;                /* commands[0] is the default */
    const bf_cfg_var *stage_vars;     /* may be NULL */
    size_t n_stage;
    void *stage_cfg;
} bf_app_spec;

typedef struct bf_app {
    const char *worker;
    const char *command;  /* the chosen subcommand (commands[0] when none given); NULL without any */
    int argc;
    char **argv;
    bf_common_cfg cfg;
    bf_log log;
    bf_metrics *metrics; /* owned; freed by bf_app_cleanup */
} bf_app;

#define BF_APP_CONTINUE (-1)

/* Returns BF_APP_CONTINUE to go on, or the exit status main should return: 0 after printing
 * help or the version, 2 on a bad argument or bad configuration, 1 otherwise. */
int bf_app_init(bf_app *app, const bf_app_spec *spec, int argc, char **argv);
void bf_app_cleanup(bf_app *app);

/* True when the command line holds flag (one the chosen command accepts). */
bool bf_app_flag(const bf_app *app, const char *flag);

/* "0.1.0" and the source revision the binary was built from ("unknown" outside a git tree). */
const char *bf_app_version(void);
const char *bf_app_revision(void);

/* Pure: checks argv against spec (no output). Returns 0 with *command set, 1 when argv asks for
 * help, 3 for --version, or 2 with the offending argument in bad (a usage error). */
int bf_app_parse_args(const bf_app_spec *spec, int argc, char **argv, const char **command, const char **bad);

#endif
