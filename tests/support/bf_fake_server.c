#include "bf_fake_server.h"
#include "bf_test_proc.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_TIMEOUT_MS 15000

static int find_binary(char *out, size_t outlen) {
    const char *env = getenv("BF_FAKE_OPENAI");
    if (env && access(env, X_OK) == 0) {
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    /* Test executables and fakes are built into the same directory. */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(out, outlen, "%s/fake_openai", self);
            if (access(out, X_OK) == 0) return 0;
        }
    }
    const char *build = getenv("BF_BUILD_DIR");
    if (build) {
        snprintf(out, outlen, "%s/tests/fake_openai", build);
        if (access(out, X_OK) == 0) return 0;
    }
    return -1;
}

/* Reads the first line of the child's stdout, waiting at most START_TIMEOUT_MS. */
static int read_line(int fd, char *line, size_t cap) {
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, START_TIMEOUT_MS);
        if (r <= 0) return -1;
        ssize_t got = read(fd, line + n, 1);
        if (got <= 0) return -1;
        if (line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    return 0;
}

static int start(bf_fake_server *fs, const char *const *args, bool record, char *err, size_t errlen) {
    memset(fs, 0, sizeof *fs);
    char bin[PATH_MAX];
    if (find_binary(bin, sizeof bin) != 0) {
        snprintf(err, errlen, "fake_openai binary not found (build it, or set BF_FAKE_OPENAI)");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    if (record) {
        snprintf(fs->record_dir, sizeof fs->record_dir, "%s/bf-fake-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(fs->record_dir)) {
            snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
            fs->record_dir[0] = '\0';
            return -1;
        }
    }
    const char *argv[64];
    size_t argc = 0;
    argv[argc++] = bin;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    if (record) {
        argv[argc++] = "--record-dir";
        argv[argc++] = fs->record_dir;
    }
    for (size_t i = 0; args && args[i] && argc < 63; i++) argv[argc++] = args[i];
    argv[argc] = NULL;

    int pipefd[2];
    if (pipe(pipefd) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        if (record) rmdir(fs->record_dir);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        if (record) rmdir(fs->record_dir);
        return -1;
    }
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    fs->pid = pid;
    char line[256];
    int ok = read_line(pipefd[0], line, sizeof line);
    close(pipefd[0]);
    const char *colon = ok == 0 ? strrchr(line, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || !end || *end != '\0' || port <= 0 || port > 65535) {
        snprintf(err, errlen, "fake_openai did not report its port (first line: \"%s\")", ok == 0 ? line : "");
        bf_fake_server_stop(fs);
        return -1;
    }
    fs->port = (int)port;
    snprintf(fs->url, sizeof fs->url, "http://127.0.0.1:%d", fs->port);
    return 0;
}

int bf_fake_server_start(bf_fake_server *fs, const char *const *args, char *err, size_t errlen) {
    return start(fs, args, true, err, errlen);
}

int bf_fake_server_start_unrecorded(bf_fake_server *fs, const char *const *args, char *err, size_t errlen) {
    return start(fs, args, false, err, errlen);
}

void bf_fake_server_stop(bf_fake_server *fs) {
    if (fs->pid > 0) {
        kill(fs->pid, SIGTERM);
        int st;
        while (waitpid(fs->pid, &st, 0) < 0 && errno == EINTR) {
        }
        fs->pid = 0;
    }
    if (fs->record_dir[0]) {
        DIR *d = opendir(fs->record_dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", fs->record_dir, e->d_name);
            unlink(path);
        }
        if (d) closedir(d);
        rmdir(fs->record_dir);
        fs->record_dir[0] = '\0';
    }
}

int bf_fake_server_recorded_count(const bf_fake_server *fs) {
    int n = 0;
    for (;;) {
        char path[512];
        snprintf(path, sizeof path, "%s/%06d.json", fs->record_dir, n + 1);
        if (access(path, R_OK) != 0) return n;
        n++;
    }
}

char *bf_fake_server_recorded_new(const bf_fake_server *fs, int n, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%06d.json", fs->record_dir, n);
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        fclose(fp);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)st.st_size, fp) : 0;
    fclose(fp);
    if (!buf) return NULL;
    buf[got] = '\0';
    if (len) *len = got;
    return buf;
}
