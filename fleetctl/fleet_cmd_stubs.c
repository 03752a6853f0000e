#include "fleet_cmds.h"
const char fleet_usage_send[] = "usage: fleetctl send (not yet)\n";
const char fleet_usage_trace[] = "usage: fleetctl trace (not yet)\n";
const char fleet_usage_report[] = "usage: fleetctl report (not yet)\n";
int fleet_cmd_send(fleet_ctx *c, int argc, char **argv) { (void)argc; (void)argv; return fleet_fail(c, 2, "send", "not implemented yet"); }
int fleet_cmd_trace(fleet_ctx *c, int argc, char **argv) { (void)argc; (void)argv; return fleet_fail(c, 2, "trace", "not implemented yet"); }
int fleet_cmd_report(fleet_ctx *c, int argc, char **argv) { (void)argc; (void)argv; return fleet_fail(c, 2, "report", "not implemented yet"); }
