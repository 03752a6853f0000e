#include "bf_llm_endpoint.h"

#include <stdio.h>
#include <string.h>

int bf_llm_chat_url(const char *base, char *out, size_t outlen) {
    if (!outlen) return -1;
    out[0] = '\0';
    if (!base || !*base) return -1;
    size_t n = strcspn(base, "?#");
    const char *query = base[n] == '?' ? base + n : "";
    while (n > 0 && base[n - 1] == '/') n--;
    static const char suffix[] = "/chat/completions";
    const size_t sl = sizeof suffix - 1;
    /* Where the path starts: after "scheme://host[:port]". */
    const char *scheme = strstr(base, "://");
    size_t host_end = scheme ? (size_t)(scheme - base) + 3 : 0;
    host_end += strcspn(base + host_end, "/?#");
    if (host_end > n) host_end = n;
    const char *add = "/chat/completions";
    if (n >= sl && strncmp(base + n - sl, suffix, sl) == 0) add = "";
    else if (n == host_end) add = "/v1/chat/completions";
    int w = snprintf(out, outlen, "%.*s%s%s", (int)n, base, add, query);
    if (w < 0 || (size_t)w >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

bool bf_llm_status_retryable(long status) {
    return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}
