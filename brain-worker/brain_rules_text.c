#include "brain_rules_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brain_rules.h"

static bool has_any(const char *text, const char *const *words) {
    for (; *words; words++)
        if (brain_text_has_word(text, *words)) return true;
    return false;
}

/* Where word (whole, case-insensitive) first occurs in text, or NULL. */
static const char *find_word(const char *text, const char *word) {
    size_t wl = strlen(word);
    for (const char *p = text; p && *p; p++) {
        if (p != text && isalnum((unsigned char)p[-1])) continue;
        if (strncasecmp(p, word, wl) == 0 && !isalnum((unsigned char)p[wl])) return p;
    }
    return NULL;
}

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static const char *find_text(const char *hay, const char *needle) {
    size_t nl = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, nl) == 0) return p;
    return NULL;
}

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* The next word of p (letters, digits, '-' or '#') into out, lowercased; returns the rest. */
static const char *next_word(const char *p, char *out, size_t outlen) {
    p = skip_space(p);
    size_t n = 0;
    while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '#' || *p == '.')) {
        if (n + 1 < outlen) out[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    while (n && out[n - 1] == '.') n--; /* a sentence's full stop */
    out[n] = '\0';
    return p;
}

/* ---- scenes ---------------------------------------------------------------------------------- */

static const char *const ordinals[] = {"first", "second", "third", "fourth", "fifth",
                                       "sixth", "seventh", "eighth", "ninth", "tenth", NULL};
static const char *const ordinal_digits[] = {"1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", NULL};

static const brain_scene *scene_at(const brain_context *ctx, long n) {
    return ctx && n >= 1 && (size_t)n <= ctx->n_scenes ? &ctx->scenes[n - 1] : NULL;
}

/* "scene 3", "scene #3", "scene number 3", "the third scene", "the last scene" (also "slide"). */
static const brain_scene *numbered_scene(const brain_context *ctx, const char *text) {
    static const char *const nouns[] = {"scene", "slide"};
    for (size_t k = 0; k < 2; k++) {
        for (const char *p = find_word(text, nouns[k]); p; p = find_word(p + 1, nouns[k])) {
            char w[32];
            const char *after = next_word(p + strlen(nouns[k]), w, sizeof w);
            if (strcmp(w, "number") == 0) next_word(after, w, sizeof w);
            const char *digits = w[0] == '#' ? w + 1 : w;
            char *end;
            errno = 0;
            long n = strtol(digits, &end, 10);
            /* "scene 3", but not "this scene 3 seconds". */
            long long ms;
            bool rel;
            if (end != digits && *end == '\0' && errno == 0 && scene_at(ctx, n) &&
                !brain_rules_stated_duration(skip_space(p + strlen(nouns[k])), &ms, &rel))
                return scene_at(ctx, n);
            /* The word before the noun: an ordinal. */
            const char *q = p;
            while (q > text && q[-1] == ' ') q--;
            const char *start = q;
            while (start > text && isalnum((unsigned char)start[-1])) start--;
            size_t len = (size_t)(q - start);
            if (!len || len >= sizeof w) continue;
            for (size_t i = 0; i < len; i++) w[i] = (char)tolower((unsigned char)start[i]);
            w[len] = '\0';
            if ((strcmp(w, "last") == 0 || strcmp(w, "final") == 0) && ctx && ctx->n_scenes)
                return &ctx->scenes[ctx->n_scenes - 1];
            for (long i = 0; ordinals[i]; i++)
                if (strcmp(w, ordinals[i]) == 0 || strcmp(w, ordinal_digits[i]) == 0) return scene_at(ctx, i + 1);
        }
    }
    return NULL;
}

/* Words that name a kind of thing, not one scene: never a scene reference on their own. */
static const char *const generic_words[] = {"scene", "slide", "list", "part", "video", "with", "from", "reveal",
                                            "section", "screen", "shot", "the", "and", NULL};

static bool generic(const char *w) {
    for (size_t i = 0; generic_words[i]; i++)
        if (strcmp(w, generic_words[i]) == 0) return true;
    return false;
}

/* Whether scene s's name has word w (lowercase). */
static bool name_has_word(const brain_scene *s, const char *w) {
    char word[64];
    for (const char *p = s->name; p && *p;) {
        p = next_word(p, word, sizeof word);
        if (strcmp(word, w) == 0) return true;
        if (*p && !isalnum((unsigned char)*p)) p++;
    }
    return false;
}

const brain_scene *brain_rules_named_scene(const brain_context *ctx, const char *text, brain_ref_strength *strength) {
    *strength = BRAIN_REF_NONE;
    if (!ctx || !text) return NULL;
    const brain_scene *s = numbered_scene(ctx, text);
    if (s) {
        *strength = BRAIN_REF_STRONG;
        return s;
    }
    const brain_scene *found = NULL;
    size_t found_len = 0;
    bool clash = false;
    for (size_t i = 0; i < ctx->n_scenes; i++) {
        const brain_scene *c = &ctx->scenes[i];
        if (brain_text_has_word(text, c->id)) {
            *strength = BRAIN_REF_STRONG;
            return c;
        }
        size_t len = c->name ? strlen(c->name) : 0;
        if (len < 3 || !brain_text_has_word(text, c->name)) continue;
        if (len > found_len) {
            clash = false;
            found = c;
            found_len = len;
        } else if (len == found_len) {
            clash = true;
        }
    }
    if (found && !clash) {
        *strength = BRAIN_REF_STRONG;
        return found;
    }
    /* A distinctive word: in exactly one scene's name. */
    found = NULL;
    char word[64];
    for (const char *p = text; *p;) {
        p = next_word(p, word, sizeof word);
        if (!*word) {
            if (*p) p++;
            continue;
        }
        if (strlen(word) < 4 || generic(word)) continue;
        const brain_scene *only = NULL;
        size_t n = 0;
        for (size_t i = 0; i < ctx->n_scenes; i++)
            if (name_has_word(&ctx->scenes[i], word)) {
                only = &ctx->scenes[i];
                n++;
            }
        if (n != 1) continue;
        if (found && found != only) return NULL; /* two scenes named: ask */
        found = only;
    }
    if (found) *strength = BRAIN_REF_WEAK;
    return found;
}

const brain_scene *brain_rules_location_scene(const brain_context *ctx, const char *text) {
    static const char *const preps[] = {"from the", "in the", "on the", "of the", "to the", "from", "in", "on", NULL};
    for (size_t i = 0; preps[i]; i++) {
        for (const char *p = find_word(text, preps[i]); p; p = find_word(p + 1, preps[i])) {
            /* The few words after the preposition, up to punctuation. */
            char tail[96];
            const char *q = p + strlen(preps[i]);
            size_t n = 0;
            while (*q && n + 1 < sizeof tail && !strchr(",.;!?", *q)) tail[n++] = *q++;
            tail[n] = '\0';
            brain_ref_strength st;
            const brain_scene *s = brain_rules_named_scene(ctx, tail, &st);
            if (s) return s;
        }
    }
    return NULL;
}

/* ---- durations -------------------------------------------------------------------------------- */

static const char *const number_words[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                           "ten", NULL};

/* A number at p (digits, decimals, or a number word): its value and where it ends. */
static bool read_number(const char *p, const char *text, double *v, const char **end) {
    if (p != text && (isalnum((unsigned char)p[-1]) || p[-1] == '.')) return false;
    if (isdigit((unsigned char)*p)) {
        char *e;
        errno = 0;
        *v = strtod(p, &e);
        if (errno || e == p || *v <= 0 || *v > 36000) return false;
        *end = e;
        return true;
    }
    for (size_t i = 0; number_words[i]; i++) {
        size_t l = strlen(number_words[i]);
        if (strncasecmp(p, number_words[i], l) == 0 && !isalnum((unsigned char)p[l])) {
            *v = (double)(i + 1);
            *end = p + l;
            return true;
        }
    }
    return false;
}

bool brain_rules_stated_duration(const char *text, long long *ms, bool *relative) {
    for (const char *p = text; p && *p; p++) {
        double v;
        const char *e;
        if (!read_number(p, text, &v, &e)) continue;
        const char *u = skip_space(e);
        bool more = false;
        if (strncasecmp(u, "more ", 5) == 0 || strncasecmp(u, "extra ", 6) == 0) {
            more = true;
            u = skip_space(strchr(u, ' '));
        }
        if (*u == '-') u++; /* "a 5-second scene" */
        double scale = 0;
        size_t ul = 0;
        static const struct {
            const char *unit;
            double scale;
        } units[] = {{"milliseconds", 1},  {"millisecond", 1}, {"ms", 1},     {"seconds", 1000}, {"second", 1000},
                     {"secs", 1000},       {"sec", 1000},      {"s", 1000},   {"minutes", 60000}, {"minute", 60000},
                     {"mins", 60000},      {"min", 60000}};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (strncasecmp(u, units[i].unit, l) == 0 && !isalpha((unsigned char)u[l])) {
                scale = units[i].scale;
                ul = l;
                break;
            }
        }
        /* "8s" only attached or spaced as a unit, never "5 slides". */
        if (!scale) continue;
        *ms = (long long)(v * scale + 0.5);
        /* Before the number: "by", "another", "an extra"; after the unit: "more", "longer", "shorter". */
        const char *before = p;
        while (before > text && before[-1] == ' ') before--;
        bool by = (before - text >= 2 && strncasecmp(before - 2, "by", 2) == 0 &&
                   (before - 2 == text || !isalnum((unsigned char)before[-3]))) ||
                  (before - text >= 7 && strncasecmp(before - 7, "another", 7) == 0) ||
                  (before - text >= 5 && strncasecmp(before - 5, "extra", 5) == 0);
        char after[32];
        next_word(u + ul, after, sizeof after);
        bool change = strcmp(after, "longer") == 0 || strcmp(after, "shorter") == 0 || strcmp(after, "more") == 0 ||
                      strcmp(after, "less") == 0 || strcmp(after, "extra") == 0;
        *relative = more || by || change;
        return true;
    }
    return false;
}

int brain_rules_direction(const char *text) {
    static const char *const shorter[] = {"shorter", "shorten", "trim", "less", "too long", "drags", "quicker",
                                          "reduce", "down to", NULL};
    static const char *const longer[] = {"longer", "extend", "lengthen", "more", "slower", "too short", "hold",
                                         "double", NULL};
    if (has_any(text, shorter)) return -1;
    if (has_any(text, longer)) return 1;
    return 0;
}

/* ---- intents ---------------------------------------------------------------------------------- */

static const char *const scene_kinds[] = {"intro", "outro", "title card", "end card", "call to action", "credits",
                                          "ending", "opening", "transition", "countdown", "title screen",
                                          "end screen", NULL};
static const char *const add_verbs[] = {"add", "create", "insert", "build", "generate", "include", NULL};

/* word is preceded, within `within` words, by one of arts. */
static bool preceded_by(const char *text, const char *at, const char *const *arts, int within) {
    const char *p = at;
    for (int k = 0; k < within && p > text; k++) {
        while (p > text && !isalnum((unsigned char)p[-1])) p--;
        const char *start = p;
        while (start > text && (isalnum((unsigned char)start[-1]) || start[-1] == '-')) start--;
        size_t len = (size_t)(p - start);
        for (size_t i = 0; arts[i]; i++)
            if (len == strlen(arts[i]) && strncasecmp(start, arts[i], len) == 0) return true;
        p = start;
    }
    return false;
}

bool brain_rules_wants_add(const char *text) { return has_any(text, add_verbs); }

static const char *const removal_verbs[] = {"get rid of", "take out", "take away", "delete", "remove", "cut",
                                            "drop", "erase", "eliminate", NULL};

bool brain_rules_wants_new_scene(const char *text) {
    /* "Delete a scene" names a scene to remove, not one to make. */
    if (has_any(text, removal_verbs) && !brain_rules_wants_add(text)) return false;
    static const char *const fresh[] = {"new scene", "new slide", "another scene", "extra scene", NULL};
    static const char *const arts[] = {"a", "an", "another", "new", NULL};
    if (has_any(text, fresh)) return true;
    static const char *const nouns[] = {"scene", "slide", NULL};
    for (size_t i = 0; nouns[i]; i++)
        for (const char *p = find_word(text, nouns[i]); p; p = find_word(p + 1, nouns[i]))
            if (preceded_by(text, p, arts, 3)) return true;
    if (!brain_rules_wants_add(text)) return false;
    for (size_t i = 0; scene_kinds[i]; i++)
        for (const char *p = find_word(text, scene_kinds[i]); p; p = find_word(p + 1, scene_kinds[i]))
            if (preceded_by(text, p, arts, 2)) return true;
    return false;
}

bool brain_rules_wants_fix(const char *text) {
    static const char *const broken[] = {
        "broken", "fix", "repair", "glitch", "glitches", "glitchy", "glitching", "bug", "buggy", "corrupted",
        "corrupt", "crash", "crashes", "crashed", "crashing", "error", "errors", "fails", "failing", "failed",
        "black screen", "blank screen", "doesn't render", "does not render", "won't render", "not rendering",
        "doesn't play", "won't play", "doesn't load", "won't load", "not loading", "frozen", "freezes",
        "flickers", "flickering", "overlaps", "overlapping", "garbled", NULL};
    /* A wrong word is an edit of the text, not a broken scene. */
    static const char *const wording[] = {"typo", "typos", "spelling", "grammar", "wording", "misspelled", NULL};
    return has_any(text, broken) && !has_any(text, wording);
}

bool brain_rules_wants_timing(const char *text) {
    static const char *const timing[] = {"longer", "shorter", "shorten", "lengthen", "extend", "duration", "length",
                                         "too long", "too short", "drags", NULL};
    long long ms;
    bool rel;
    return has_any(text, timing) || brain_rules_stated_duration(text, &ms, &rel);
}

bool brain_rules_wants_analysis(const char *text) {
    static const char *const ask[] = {"analyze", "analyse", "analysis", "describe", "what's in", "what is in",
                                      "what's this", "what is this", "tell me", "what fonts", "which fonts",
                                      "what font", "which font", "what colours", "what colors", "identify", NULL};
    if (has_any(text, ask)) return true;
    static const char *const wh[] = {"what", "which", "who", "how", NULL};
    const char *p = skip_space(text);
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (!n || p[n - 1] != '?') return false;
    char first[16];
    next_word(p, first, sizeof first);
    for (size_t i = 0; wh[i]; i++)
        if (strcmp(first, wh[i]) == 0) return true;
    return false;
}

bool brain_rules_mentions_image(const char *text) {
    static const char *const img[] = {"moodboard", "mood board", "image", "picture", "photo", "screenshot",
                                      "upload", "uploaded", NULL};
    return has_any(text, img);
}

/* ---- removal ---------------------------------------------------------------------------------- */


/* Words for things inside a scene: removing one is an edit of the scene. */
static const char *const element_words[] = {
    "logo", "text", "title", "subtitle", "subtitles", "headline", "heading", "caption", "captions", "line", "lines",
    "bullet", "bullets", "word", "words", "sentence", "paragraph", "letter", "letters", "background", "music",
    "sound", "audio", "voiceover", "shadow", "watermark", "animation", "animations", "effect", "effects", "image",
    "picture", "photo", "icon", "icons", "button", "border", "colour", "color", "font", "sticker", "emoji",
    "overlay", "arrow", "shape", "graphic", "graphics", "banner", "link", "date", "number", "price", "glow",
    "gradient", "filter", "outline", "underline", "highlight", "sparkles", "particles", "logos", NULL};

bool brain_rules_removal(const brain_context *ctx, const char *text, bool *scene_itself) {
    const char *at = NULL, *verb = NULL;
    for (size_t i = 0; removal_verbs[i]; i++) {
        const char *p = find_word(text, removal_verbs[i]);
        if (p && (!at || p < at)) {
            at = p;
            verb = removal_verbs[i];
        }
    }
    if (!at) return false;
    /* The object: up to where a place or the sentence begins. */
    char object[256];
    const char *q = at + strlen(verb);
    size_t n = 0;
    while (*q && n + 1 < sizeof object && !strchr(",.;!?:", *q)) object[n++] = *q++;
    object[n] = '\0';
    static const char *const stops[] = {" from ", " in ", " on ", " of ", " at ", " under ", " inside ", " and ",
                                        " please", " entirely", " completely", " altogether", NULL};
    for (size_t i = 0; stops[i]; i++) {
        for (char *s = object; *s; s++)
            if (strncasecmp(s, stops[i], strlen(stops[i])) == 0) {
                *s = '\0';
                break;
            }
    }
    brain_ref_strength st;
    const brain_scene *named = brain_rules_named_scene(ctx, object, &st);
    static const char *const scene_words[] = {"scene", "slide", "it", "this", "that", NULL};
    char first[32];
    next_word(object, first, sizeof first);
    if (named && st == BRAIN_REF_STRONG) *scene_itself = true;
    else if (has_any(object, element_words)) *scene_itself = false;
    else *scene_itself = !*first || has_any(object, scene_words);
    return true;
}

/* ---- steps ------------------------------------------------------------------------------------ */

static const char *const action_verbs[] = {"make", "add", "delete", "remove", "change", "create", "shorten",
                                           "extend", "fix", "analyze", "analyse", "describe", "set", "move",
                                           "put", "use", "turn", "cut", "drop", "insert", "replace", "restyle",
                                           "lengthen", NULL};

/* Whether p starts with one of the action verbs. */
static bool starts_with_action(const char *p) {
    char w[32];
    next_word(p, w, sizeof w);
    for (size_t i = 0; action_verbs[i]; i++)
        if (strcmp(w, action_verbs[i]) == 0) return true;
    return false;
}

size_t brain_rules_split_steps(const char *text, char **parts, size_t max) {
    static const char *const joins[] = {", and then ", " and then ", ", then ", "; then ", " then ", "; ", " and ",
                                        NULL};
    size_t n = 0;
    const char *start = text ? text : "";
    for (;;) {
        const char *cut = NULL;
        size_t cut_len = 0;
        for (size_t i = 0; joins[i]; i++) {
            for (const char *p = start; (p = find_text(p, joins[i])) != NULL; p++) {
                const char *rest = p + strlen(joins[i]);
                bool plain = strcmp(joins[i], " and ") == 0 || strcmp(joins[i], "; ") == 0;
                if (plain && !starts_with_action(rest)) continue;
                if (!cut || p < cut) {
                    cut = p;
                    cut_len = strlen(joins[i]);
                }
                break;
            }
        }
        if (!cut || n + 1 >= max) break;
        parts[n] = strndup(start, (size_t)(cut - start));
        if (!parts[n]) goto oom;
        n++;
        start = cut + cut_len;
    }
    parts[n] = strdup(start);
    if (!parts[n]) goto oom;
    return n + 1;
oom:
    for (size_t i = 0; i < n; i++) free(parts[i]);
    return 0;
}
