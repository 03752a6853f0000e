#include "memory_preferences.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_out.h"

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

const char *memory_color_family(const char *hex) {
    if (!hex || hex[0] != '#' || strlen(hex) != 7) return NULL;
    int rgb[3];
    for (int i = 0; i < 3; i++) {
        int hi = hex_digit(hex[1 + 2 * i]), lo = hex_digit(hex[2 + 2 * i]);
        if (hi < 0 || lo < 0) return NULL;
        rgb[i] = hi * 16 + lo;
    }
    double r = rgb[0] / 255.0, g = rgb[1] / 255.0, b = rgb[2] / 255.0;
    double max = r > g ? (r > b ? r : b) : (g > b ? g : b);
    double min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    double l = (max + min) / 2, d = max - min;
    /* Thresholds chosen so near-neutral tones name themselves by lightness, not by a hue the eye
     * does not see. */
    if (l < 0.12) return "black";
    if (l > 0.90) return "white";
    double s = d == 0 ? 0 : d / (1 - (2 * l - 1 < 0 ? 1 - 2 * l : 2 * l - 1));
    if (s < 0.15) return "gray";
    double h;
    if (max == r) h = 60 * ((g - b) / d);
    else if (max == g) h = 60 * ((b - r) / d + 2);
    else h = 60 * ((r - g) / d + 4);
    if (h < 0) h += 360;
    if (h >= 15 && h < 45 && l < 0.40) return "brown"; /* dark orange reads as brown */
    if (h < 15 || h >= 345) return "red";
    if (h < 45) return "orange";
    if (h < 70) return "yellow";
    if (h < 160) return "green";
    if (h < 200) return "teal";
    if (h < 255) return "blue";
    if (h < 290) return "purple";
    return "pink";
}

typedef struct {
    const char *family;
    double share;
} family_share;

static int by_share_desc(const void *a, const void *b) {
    const family_share *x = a, *y = b;
    if (x->share != y->share) return x->share < y->share ? 1 : -1;
    return strcmp(x->family, y->family);
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const family_share *)a)->family, ((const family_share *)b)->family);
}

/* Copies the writer's text into out; returns 0, or -1 when it does not fit (or memory ran out).
 * A direct writer rather than a cJSON tree printed: two per analysed image. */
static int take_text(bf_json_out *w, char *out, size_t cap) {
    const char *t = bf_json_out_text(w);
    int rc = t && w->len < cap ? 0 : -1;
    if (rc == 0) memcpy(out, t, w->len + 1);
    bf_json_out_free(w);
    return rc;
}

static int colors_value(const memory_palette_entry *palette, size_t n, char *out, size_t cap) {
    family_share fams[16];
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = memory_color_family(palette[i].hex);
        if (!f || !(palette[i].share > 0)) continue;
        size_t j = 0;
        while (j < nf && strcmp(fams[j].family, f) != 0) j++;
        if (j == nf) {
            if (nf == sizeof fams / sizeof fams[0]) continue;
            fams[nf++] = (family_share){f, 0};
        }
        fams[j].share += palette[i].share;
    }
    qsort(fams, nf, sizeof fams[0], by_share_desc);
    size_t keep = 0;
    while (keep < nf && keep < MEMORY_COLOR_MAX_FAMILIES && fams[keep].share >= MEMORY_COLOR_MIN_SHARE) keep++;
    if (keep == 0) return -1;
    /* Alphabetical, so the same families compare equal whatever their order of dominance. */
    qsort(fams, keep, sizeof fams[0], by_name);
    const char *names[MEMORY_COLOR_MAX_FAMILIES];
    for (size_t i = 0; i < keep; i++) names[i] = fams[i].family;
    bf_json_out w;
    bf_json_out_init(&w);
    bf_json_out_raw(&w, "{", 1);
    bf_json_out_key(&w, "colors");
    bf_json_out_strings(&w, names, keep);
    bf_json_out_raw(&w, "}", 1);
    return take_text(&w, out, cap);
}

static int mood_value(const char *mood, char *out, size_t cap) {
    bf_json_out w;
    bf_json_out_init(&w);
    bf_json_out_raw(&w, "{", 1);
    bf_json_out_member_string(&w, "mood", mood);
    bf_json_out_raw(&w, "}", 1);
    return take_text(&w, out, cap);
}

size_t memory_preferences_extract(const char *mood, const memory_palette_entry *palette, size_t n, double w,
                                  memory_pref out[2]) {
    size_t k = 0;
    if (mood && *mood && mood_value(mood, out[k].value, sizeof out[k].value) == 0) {
        out[k].key = "preferred_mood";
        out[k].weight = w;
        k++;
    }
    if (palette && n > 0 && colors_value(palette, n, out[k].value, sizeof out[k].value) == 0) {
        out[k].key = "preferred_colors";
        out[k].weight = w;
        k++;
    }
    return k;
}
