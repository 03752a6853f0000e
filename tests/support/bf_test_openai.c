#include "bf_test_openai.h"

#include <stdio.h>
#include <stdlib.h>

bf_json_schema *bf_test_openai_schema_new(void) {
    const char *src = getenv("BF_SOURCE_DIR");
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/tests/fakes/openai/chat_completions.schema.json", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (is BF_SOURCE_DIR set?)\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n > 0 ? malloc((size_t)n) : NULL;
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    bf_json_schema *s = got == (size_t)n && text ? bf_json_schema_new(text, got, err, sizeof err) : NULL;
    if (!s) fprintf(stderr, "%s: %s\n", path, text ? err : "cannot read");
    free(text);
    return s;
}

int bf_test_openai_check_request(const bf_json_schema *s, const char *body, char *err, size_t errlen) {
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    if (!j) {
        snprintf(err, errlen, "request is not JSON");
        return -1;
    }
    int r = bf_json_schema_check(s, NULL, j, "request", err, errlen);
    cJSON_Delete(j);
    return r;
}
