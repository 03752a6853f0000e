#include "fleet_editor_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bf_buf.h"

static void put(bf_buf *b, const char *s) { bf_buf_append(b, s, strlen(s)); }

/* The longest prefix of s[0..len) of at most max bytes that ends on a character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max) {
    if (len <= max) return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    return n;
}

/* Cuts b's text to max bytes with "..." at the end, at the last blank when one is near. */
static void cut(bf_buf *b, size_t max) {
    if (b->oom || b->len <= max || max < 4) return;
    size_t n = utf8_cut(b->buf, b->len, max - 3);
    size_t blank = n;
    while (blank > 0 && b->buf[blank - 1] != ' ' && n - blank < 24) blank--;
    if (blank > 0 && b->buf[blank - 1] == ' ') n = blank - 1;
    b->len = n;
    put(b, "...");
}

char *fleet_text_line_new(const char *text, size_t max) {
    bf_buf b;
    bf_buf_init(&b);
    bool blank = false, newline = false;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '\n' || *p == '\r') {
            newline = b.len > 0;
            continue;
        }
        if (*p == ' ' || *p == '\t') {
            blank = b.len > 0;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f) continue;
        if (newline) put(&b, "; ");
        else if (blank) put(&b, " ");
        newline = blank = false;
        bf_buf_append(&b, p, 1);
        /* Far past any bound: the rest would only be cut. */
        if (b.len > max + 8) break;
    }
    cut(&b, max);
    return bf_buf_take(&b, NULL);
}

/* Words a request starts with that say what to do, not what the scene is. */
static const char *const leading[] = {"please", "add",  "create", "insert", "make",    "build", "put",
                                      "append", "new",  "a",      "an",     "another", "the",   "me",
                                      "us",     "also", "then",   "now",    "just",    NULL};

static bool is_leading(const char *w, size_t n) {
    for (size_t i = 0; leading[i]; i++)
        if (strlen(leading[i]) == n && strncasecmp(w, leading[i], n) == 0) return true;
    return false;
}

/* The first sentence of s: up to ".!?;" followed by a blank or the end, or a newline. */
static size_t sentence_len(const char *s) {
    size_t i = 0;
    for (; s[i] && s[i] != '\n'; i++)
        if (strchr(".!?;", s[i]) && (s[i + 1] == '\0' || isspace((unsigned char)s[i + 1]))) break;
    return i;
}

static void capitalise(char *s) {
    if (s && *s && islower((unsigned char)*s)) *s = (char)toupper((unsigned char)*s);
}

static char *scene_number(const char *what, long long position) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s %lld", what, position + 1);
    return strdup(buf);
}

/* given as a name when it has any text, else NULL (and *oom when that failed). */
static char *given_name(const char *given, bool *oom) {
    *oom = false;
    if (!given) return NULL;
    char *n = fleet_text_line_new(given, BF_SCENE_NAME_MAX);
    if (!n) *oom = true;
    else if (!*n) {
        free(n);
        n = NULL;
    }
    return n;
}

char *fleet_text_scene_name_new(const char *given, const char *instruction, long long position) {
    bool oom;
    char *n = given_name(given, &oom);
    if (n || oom) return n;
    const char *s = instruction ? instruction : "";
    size_t len = sentence_len(s);
    char *first = strndup(s, len);
    if (!first) return NULL;
    char *line = fleet_text_line_new(first, 4 * FLEET_NAME_MAX);
    free(first);
    if (!line) return NULL;
    const char *p = line;
    for (;;) {
        while (*p == ' ') p++;
        size_t w = strcspn(p, " ,:");
        if (!w || !is_leading(p, w)) break;
        p += w;
    }
    char *rest = fleet_text_line_new(p, FLEET_NAME_MAX);
    free(line);
    if (!rest || *rest) {
        capitalise(rest);
        return rest;
    }
    free(rest);
    return scene_number("Scene", position);
}

char *fleet_text_image_name_new(const char *given, const char *image_url, long long position) {
    bool oom;
    char *n = given_name(given, &oom);
    if (n || oom) return n;
    const char *u = image_url ? image_url : "";
    size_t end = strcspn(u, "?#");
    size_t start = end;
    while (start > 0 && u[start - 1] != '/') start--;
    /* The file's name without its extension, its separators as blanks, letters and digits only. */
    size_t stop = end;
    for (size_t i = start; i < end; i++)
        if (u[i] == '.') stop = i;
    bf_buf b;
    bf_buf_init(&b);
    bool host = start > 0 && start >= 2 && u[start - 2] == '/'; /* "https://host/" has no file */
    for (size_t i = start; !host && i < stop && b.len < 40; i++) {
        unsigned char c = (unsigned char)u[i];
        if (isalnum(c)) bf_buf_append(&b, &c, 1);
        else if ((c == '-' || c == '_' || c == ' ' || c == '+') && b.len && b.buf[b.len - 1] != ' ') put(&b, " ");
    }
    while (!b.oom && b.len && b.buf[b.len - 1] == ' ') b.len--;
    if (b.len == 0) {
        bf_buf_free(&b);
        return scene_number("Image scene", position);
    }
    put(&b, " (image)");
    char *name = bf_buf_take(&b, NULL);
    capitalise(name);
    return name;
}

char *fleet_text_describe_new(const char *old, const char *line) {
    bf_buf b;
    bf_buf_init(&b);
    if (old && *old) put(&b, old);
    if (line && *line) {
        if (b.len) put(&b, "\n");
        put(&b, line);
    }
    if (b.oom) {
        bf_buf_free(&b);
        return NULL;
    }
    /* Over the bound: the oldest line after the first goes, while there is one. */
    while (b.len > BF_SCENE_DESCRIPTION_MAX) {
        char *first = memchr(b.buf, '\n', b.len);
        char *second = first ? memchr(first + 1, '\n', b.len - (size_t)(first + 1 - b.buf)) : NULL;
        if (!second) break;
        size_t drop = (size_t)(second - first);
        memmove(first, second, b.len - (size_t)(second - b.buf));
        b.len -= drop;
    }
    if (b.len > BF_SCENE_DESCRIPTION_MAX) b.len = utf8_cut(b.buf, b.len, BF_SCENE_DESCRIPTION_MAX);
    return bf_buf_take(&b, NULL);
}

char *fleet_text_facts_line_new(const bf_image_facts *f) {
    bf_buf b;
    bf_buf_init(&b);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "Image: %s, %s mood, %s %lldx%lld", bf_temperature_name(f->temperature),
             bf_mood_name(f->mood), bf_orientation_name(f->orientation), (long long)f->width, (long long)f->height);
    put(&b, tmp);
    for (size_t i = 0; i < f->n_palette && i < 3; i++) {
        snprintf(tmp, sizeof tmp, "%s%s %.0f%%", i ? ", " : "; palette ", f->palette[i].hex, f->palette[i].share * 100);
        put(&b, tmp);
    }
    for (size_t i = 0; i < f->objects.n && i < 5; i++) {
        put(&b, i ? ", " : "; objects: ");
        put(&b, f->objects.v[i]);
    }
    if (f->visible_text.n) {
        put(&b, "; text: \"");
        put(&b, f->visible_text.v[0]);
        put(&b, "\"");
    }
    char *raw = bf_buf_take(&b, NULL);
    if (!raw) return NULL;
    char *line = fleet_text_line_new(raw, FLEET_LINE_MAX);
    free(raw);
    return line;
}
