#include "brain_overlay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_map.h"

#define TURNS_MAX 16 /* per project: more are never uncommitted at once in practice */

typedef struct remembered {
    char *conversation_id, *user_text, *assistant_text, *new_scene_id, *new_scene_name;
    long long turn;
    brain_conversation state;
    int64_t at_ms;
} remembered;

typedef struct entry {
    char *project;
    remembered turns[TURNS_MAX]; /* oldest first */
    size_t n;
    struct entry *prev, *next; /* most recently used first */
} entry;

struct brain_overlay {
    brain_map *by_project;
    entry *head, *tail;
    size_t count, max;
    int64_t ttl_ms;
};

brain_overlay *brain_overlay_new(size_t max_projects, int64_t ttl_ms) {
    brain_overlay *o = calloc(1, sizeof *o);
    if (!o || !(o->by_project = brain_map_new())) {
        free(o);
        return NULL;
    }
    o->max = max_projects ? max_projects : 1;
    o->ttl_ms = ttl_ms;
    return o;
}

static void remembered_clear(remembered *r) {
    free(r->conversation_id);
    free(r->user_text);
    free(r->assistant_text);
    free(r->new_scene_id);
    free(r->new_scene_name);
    brain_conversation_clear(&r->state);
    memset(r, 0, sizeof *r);
}

static void drop_turn(entry *e, size_t i) {
    remembered_clear(&e->turns[i]);
    memmove(&e->turns[i], &e->turns[i + 1], (e->n - i - 1) * sizeof e->turns[0]);
    e->n--;
    memset(&e->turns[e->n], 0, sizeof e->turns[0]);
}

static void unlink_entry(brain_overlay *o, entry *e) {
    if (e->prev) e->prev->next = e->next;
    else o->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else o->tail = e->prev;
    e->prev = e->next = NULL;
}

static void to_front(brain_overlay *o, entry *e) {
    if (o->head == e) return;
    if (e->prev || e->next || o->tail == e) unlink_entry(o, e);
    e->next = o->head;
    if (o->head) o->head->prev = e;
    o->head = e;
    if (!o->tail) o->tail = e;
}

static void entry_free(brain_overlay *o, entry *e) {
    brain_map_remove(o->by_project, e->project);
    unlink_entry(o, e);
    for (size_t i = 0; i < e->n; i++) remembered_clear(&e->turns[i]);
    free(e->project);
    free(e);
    o->count--;
}

void brain_overlay_free(brain_overlay *o) {
    if (!o) return;
    while (o->head) entry_free(o, o->head);
    brain_map_free(o->by_project);
    free(o);
}

size_t brain_overlay_projects(const brain_overlay *o) { return o->count; }

static char *dup_opt(const char *s, bool *ok) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *ok = false;
    return d;
}

int brain_overlay_record(brain_overlay *o, const char *project, const brain_turn *t, int64_t now_ms) {
    entry *e = brain_map_get(o->by_project, project);
    if (!e) {
        if (o->count >= o->max) entry_free(o, o->tail);
        e = calloc(1, sizeof *e);
        if (!e || !(e->project = strdup(project)) || brain_map_put(o->by_project, project, e) != 0) {
            if (e) free(e->project);
            free(e);
            return -1;
        }
        o->count++;
    }
    to_front(o, e);
    if (e->n == TURNS_MAX) drop_turn(e, 0);
    remembered *r = &e->turns[e->n];
    bool ok = true;
    r->conversation_id = dup_opt(t->conversation_id ? t->conversation_id : "default", &ok);
    r->user_text = dup_opt(t->user_text ? t->user_text : "", &ok);
    r->assistant_text = dup_opt(t->assistant_text ? t->assistant_text : "", &ok);
    r->new_scene_id = dup_opt(t->new_scene_id, &ok);
    r->new_scene_name = dup_opt(t->new_scene_name ? t->new_scene_name : t->new_scene_id, &ok);
    if (ok && t->state && brain_conversation_copy(&r->state, t->state) != 0) ok = false;
    r->turn = t->turn;
    r->at_ms = now_ms;
    if (!ok) {
        remembered_clear(r);
        return -1;
    }
    e->n++;
    return 0;
}

static int append_message(brain_context *ctx, const char *role, const char *text, long long turn) {
    brain_message *m = realloc(ctx->messages, (ctx->n_messages + 1) * sizeof *m);
    if (!m) return -1;
    ctx->messages = m;
    brain_message *n = &m[ctx->n_messages];
    *n = (brain_message){.turn = turn}; /* message_id unknown: the packet has not got it yet */
    n->role = strdup(role);
    n->content = strdup(text);
    if (!n->role || !n->content) {
        free(n->role);
        free(n->content);
        return -1;
    }
    ctx->n_messages++;
    return 0;
}

static void append_scene(brain_context *ctx, const char *id, const char *name) {
    if (brain_context_find_scene(ctx, id)) return;
    brain_scene *s = realloc(ctx->scenes, (ctx->n_scenes + 1) * sizeof *s);
    if (!s) return;
    ctx->scenes = s;
    brain_scene *n = &s[ctx->n_scenes];
    memset(n, 0, sizeof *n);
    n->id = strdup(id);
    n->name = strdup(name ? name : id);
    n->position = ctx->n_scenes ? ctx->scenes[ctx->n_scenes - 1].position + 1 : 0;
    if (!n->id || !n->name) {
        free(n->id);
        free(n->name);
        return;
    }
    ctx->n_scenes++;
}

size_t brain_overlay_apply(brain_overlay *o, const char *project, const char *conversation_id, brain_context *ctx,
                           int64_t now_ms) {
    entry *e = brain_map_get(o->by_project, project);
    if (!e) return 0;
    const char *conv = conversation_id && *conversation_id ? conversation_id : "default";
    /* What the packet has committed for this conversation. */
    long long committed = ctx->conv.turn_count;
    for (size_t i = 0; i < ctx->n_messages; i++)
        if (ctx->messages[i].turn > committed) committed = ctx->messages[i].turn;
    size_t applied = 0;
    const remembered *newest = NULL;
    for (size_t i = 0; i < e->n;) {
        remembered *r = &e->turns[i];
        bool mine = strcmp(r->conversation_id, conv) == 0;
        /* Committed (the packet has it) or stale: forget it. A degraded packet proves nothing. */
        if ((mine && !ctx->degraded && r->turn <= committed) || now_ms - r->at_ms > o->ttl_ms) {
            drop_turn(e, i);
            continue;
        }
        i++;
        if (!mine) continue;
        if (append_message(ctx, "user", r->user_text, r->turn) != 0 ||
            append_message(ctx, "assistant", r->assistant_text, r->turn) != 0)
            break; /* out of memory: the packet is still usable as it is */
        if (r->new_scene_id) append_scene(ctx, r->new_scene_id, r->new_scene_name);
        newest = r;
        applied++;
    }
    if (newest && newest->turn > ctx->conv.turn_count) {
        brain_conversation c;
        if (brain_conversation_copy(&c, &newest->state) == 0) {
            brain_conversation_clear(&ctx->conv);
            ctx->conv = c;
        }
    }
    if (e->n == 0) entry_free(o, e);
    else to_front(o, e);
    return applied;
}
