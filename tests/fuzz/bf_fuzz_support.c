#include "bf_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *bf_fuzz_guarded_copy(const uint8_t *data, size_t size, void **mapping, size_t *map_len) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (size + page - 1) / page * page;
    if (body == 0) body = page;
    size_t total = body + page;
    unsigned char *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    if (mprotect(m + body, page, PROT_NONE) != 0) {
        munmap(m, total);
        return NULL;
    }
    unsigned char *start = m + body - size;
    if (size) memcpy(start, data, size);
    *mapping = m;
    *map_len = total;
    return (const char *)start;
}

void bf_fuzz_guarded_free(void *mapping, size_t map_len) {
    if (mapping) munmap(mapping, map_len);
}

_Noreturn void bf_fuzz_fail(const char *what, const char *detail) {
    fprintf(stderr, "bf_fuzz: property broken: %s: %s\n", what, detail ? detail : "");
    abort();
}

void bf_fuzz_check_decoded(const char *what, const uint8_t *px, int ok, uint32_t w, uint32_t h, uint64_t max_side,
                           uint64_t max_pixels, const char *err, size_t errlen) {
    if (!px) {
        if (ok) bf_fuzz_fail(what, "NULL with status OK");
        if (!memchr(err, '\0', errlen) || !err[0]) bf_fuzz_fail(what, "refusal without a reason");
        return;
    }
    if (!ok) bf_fuzz_fail(what, "pixels with a failure status");
    if (w == 0 || h == 0 || w > max_side || h > max_side || (uint64_t)w * h > max_pixels)
        bf_fuzz_fail(what, "dimensions outside the limits");
    volatile unsigned sum = 0;
    size_t n = (size_t)w * h * 3u;
    for (size_t i = 0; i < n; i += 61) sum += px[i];
    sum += px[n - 1];
    (void)sum;
}
