#include "bf_test_proc.h"

#include <signal.h>
#include <sys/prctl.h>

void bf_test_child_dies_with_parent(void) {
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
}
