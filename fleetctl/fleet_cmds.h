/* fleetctl's subcommands. Each takes the arguments after its name (argv[0] is the command name),
 * returns a process exit code (FLEET_EXIT_*), prints results to ctx->out and everything else to
 * ctx->err. Each has a usage text printed for `fleetctl <cmd> --help`. */
#ifndef FLEET_CMDS_H
#define FLEET_CMDS_H

#include "fleet_ctx.h"

int fleet_cmd_send(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_replay(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_group_move(fleet_ctx *c, int argc, char **argv); /* `replay --group` */
int fleet_cmd_trace(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_dlq(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_report(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_topics(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_group(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_completion(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_eval(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_editor(fleet_ctx *c, int argc, char **argv);
int fleet_cmd_storyboard(fleet_ctx *c, int argc, char **argv);

extern const char fleet_usage_send[];
extern const char fleet_usage_replay[];
extern const char fleet_usage_trace[];
extern const char fleet_usage_dlq[];
extern const char fleet_usage_report[];
extern const char fleet_usage_topics[];
extern const char fleet_usage_group[];
extern const char fleet_usage_completion[];
extern const char fleet_usage_eval[];
extern const char fleet_usage_editor[];
extern const char fleet_usage_storyboard[];

/* Takes the options every command shares out of argv (in place; *argc shrinks): -b/--bootstrap-
 * server HOST:PORT[,...] and -o/--output table|json|html, before or after the command name, up to
 * a "--". Returns 0, or -1 with err (a usage error). */
int fleet_take_shared_options(fleet_ctx *c, int *argc, char **argv, char *err, size_t errlen);

/* True when argv holds -h / --help (commands check before parsing, so help never fails). */
int fleet_wants_help(int argc, char **argv);

#endif
