#include "bf_test_proc.h"
#include "support_fleet.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bf_test_kafka.h"

static char *slurp_fd(int fd) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    lseek(fd, 0, SEEK_SET);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    return buf;
}

struct fleet_it_proc {
    pid_t pid;
    int ofd, efd;
    char cmd[1024];
};

fleet_it_proc *fleet_it_spawn(const char *prefix, const char *const *args) {
    char bin[1024];
    bf_test_binary("fleetctl/fleetctl", bin, sizeof bin);
    fleet_it_proc *p = calloc(1, sizeof *p);
    char otmp[] = "/tmp/fleetctl-out-XXXXXX", etmp[] = "/tmp/fleetctl-err-XXXXXX";
    p->ofd = mkstemp(otmp);
    p->efd = mkstemp(etmp);
    if (p->ofd < 0 || p->efd < 0) abort();
    unlink(otmp);
    unlink(etmp);
    size_t n = 0, l = 0;
    while (args[n]) {
        l += (size_t)snprintf(p->cmd + l, l < sizeof p->cmd ? sizeof p->cmd - l : 0, " %s", args[n]);
        if (l >= sizeof p->cmd) l = sizeof p->cmd - 1;
        n++;
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) abort();
    if (p->pid == 0) {
        bf_test_child_dies_with_parent();
        const char **argv = calloc(n + 2, sizeof *argv);
        argv[0] = bin;
        for (size_t i = 0; i < n; i++) argv[i + 1] = args[i];
        setenv("BRAINFLEET_TOPIC_PREFIX", prefix, 1);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(p->ofd, 1);
        dup2(p->efd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return p;
}

int fleet_it_wait(fleet_it_proc *p, char **out, char **err) {
    int status;
    while (waitpid(p->pid, &status, 0) < 0) {
    }
    char *o = slurp_fd(p->ofd), *e = slurp_fd(p->efd);
    close(p->ofd);
    close(p->efd);
    /* Shown on failure by ctest's output-on-failure: what the tool said is the first clue. */
    fprintf(stderr, "$ fleetctl%s\n%s", p->cmd, e);
    free(p);
    if (out) *out = o;
    else free(o);
    if (err) *err = e;
    else free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int fleet_it_runv(const char *prefix, const char *const *args, char **out, char **err) {
    return fleet_it_wait(fleet_it_spawn(prefix, args), out, err);
}

int fleet_it_run(const char *prefix, char **out, char **err, ...) {
    const char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 63) args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return fleet_it_runv(prefix, args, out, err);
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        abort();
    }
}

rd_kafka_t *fleet_it_producer(void) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, on_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", err);
        abort();
    }
    return rk;
}

void fleet_it_produce(rd_kafka_t *p, const char *topic, int32_t partition, const char *key, const void *value,
                      size_t len, const char *const *headers, int64_t timestamp_ms) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        rd_kafka_header_add(h, headers[i], -1, headers[i + 1], -1);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)value, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_END);
    if (e) {
        fprintf(stderr, "produce %s: %s\n", topic, rd_kafka_err2str(e));
        abort();
    }
}

void fleet_it_producer_done(rd_kafka_t *p) {
    if (rd_kafka_flush(p, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "records not acknowledged in 30 s\n");
        abort();
    }
    rd_kafka_destroy(p);
}

size_t fleet_it_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

int64_t fleet_it_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *fleet_it_source_new(const char *rel) {
    char path[1024];
    const char *root = getenv("BF_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    size_t cap = 1 << 16, len = 0, got;
    char *b = malloc(cap);
    while ((got = fread(b + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) b = realloc(b, cap *= 2);
    }
    b[len] = '\0';
    fclose(f);
    return b;
}
