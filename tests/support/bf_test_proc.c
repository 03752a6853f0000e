#include "bf_test_proc.h"

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_test_kafka.h"

void bf_test_child_dies_with_parent(void) {
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t bf_test_worker_start(const char *rel, const char *prefix, const char *role, const char *const *extra) {
    char bin[1024], brokers[300], dsn[1100], pfx[80], group[96];
    bf_test_binary(rel, bin, sizeof bin);
    snprintf(brokers, sizeof brokers, "BRAINFLEET_KAFKA_BROKERS=%s", bf_test_brokers());
    snprintf(dsn, sizeof dsn, "BRAINFLEET_PG_DSN=%s", bf_test_pg_dsn());
    snprintf(pfx, sizeof pfx, "BRAINFLEET_TOPIC_PREFIX=%s", prefix);
    snprintf(group, sizeof group, "BRAINFLEET_GROUP_ID=%s%s", prefix, role);
    pid_t pid = fork();
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        char *envp[16] = {brokers, dsn, pfx, group, "BRAINFLEET_HTTP_PORT=0", "BRAINFLEET_LOG_LEVEL=warn",
                          "ASAN_OPTIONS=detect_leaks=1"};
        size_t n = 7;
        for (size_t i = 0; extra && extra[i] && n < 15; i++) envp[n++] = (char *)extra[i];
        envp[n] = NULL;
        execle(bin, bin, (char *)NULL, envp);
        _exit(127);
    }
    return pid;
}

int bf_test_worker_stop(pid_t pid) {
    kill(pid, SIGTERM);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}
