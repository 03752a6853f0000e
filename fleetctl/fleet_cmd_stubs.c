#include "fleet_cmds.h"
const char fleet_usage_report[] = "usage: fleetctl report (not yet)\n";
int fleet_cmd_report(fleet_ctx *c, int argc, char **argv) { (void)argc; (void)argv; return fleet_fail(c, 2, "report", "not implemented yet"); }
