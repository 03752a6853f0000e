#include "fleet_storyboard.h"

#include <stdlib.h>
#include <string.h>

static void scene_clear(fleet_scene *s) {
    free(s->id);
    free(s->name);
    free(s->description);
    free(s->image_url);
}

static void mark_clear(fleet_request_mark *m) {
    for (size_t k = 0; k < FLEET_STEPS_MAX; k++) {
        free(m->scene_ids[k]);
        free(m->images[k]);
    }
    memset(m, 0, sizeof *m);
}

void fleet_storyboards_free(fleet_storyboards *sb) {
    for (size_t i = 0; i < sb->n; i++) {
        fleet_project *p = &sb->projects[i];
        for (size_t k = 0; k < p->n_scenes; k++) scene_clear(&p->scenes[k]);
        free(p->scenes);
        for (size_t k = 0; k < p->n_marks; k++) mark_clear(&p->marks[k]);
        free(p->marks);
        free(p->id);
    }
    free(sb->projects);
    memset(sb, 0, sizeof *sb);
}

const fleet_project *fleet_storyboards_find(const fleet_storyboards *sb, const char *project_id) {
    for (size_t i = 0; i < sb->n; i++)
        if (strcmp(sb->projects[i].id, project_id) == 0) return &sb->projects[i];
    return NULL;
}

fleet_project *fleet_storyboards_project(fleet_storyboards *sb, const char *project_id) {
    fleet_project *p = (fleet_project *)fleet_storyboards_find(sb, project_id);
    if (p) return p;
    if (sb->n == sb->cap) {
        size_t cap = sb->cap ? sb->cap * 2 : 8;
        fleet_project *n = realloc(sb->projects, cap * sizeof *n);
        if (!n) return NULL;
        sb->projects = n;
        sb->cap = cap;
    }
    p = &sb->projects[sb->n];
    memset(p, 0, sizeof *p);
    if (!(p->id = strdup(project_id))) return NULL;
    sb->n++;
    return p;
}

bool fleet_scene_live(const fleet_scene *s) {
    return s->content_version > 0 && s->deleted_version <= s->created_version;
}

fleet_scene *fleet_project_scene(const fleet_project *p, const char *scene_id) {
    for (size_t i = 0; i < p->n_scenes; i++)
        if (strcmp(p->scenes[i].id, scene_id) == 0) return &p->scenes[i];
    return NULL;
}

fleet_scene *fleet_project_live_scene(const fleet_project *p, const char *scene_id) {
    fleet_scene *s = fleet_project_scene(p, scene_id);
    return s && fleet_scene_live(s) ? s : NULL;
}

static fleet_scene *scene_get(fleet_project *p, const char *scene_id) {
    fleet_scene *s = fleet_project_scene(p, scene_id);
    if (s) return s;
    if (p->n_scenes == p->cap_scenes) {
        size_t cap = p->cap_scenes ? p->cap_scenes * 2 : 16;
        fleet_scene *n = realloc(p->scenes, cap * sizeof *n);
        if (!n) return NULL;
        p->scenes = n;
        p->cap_scenes = cap;
    }
    s = &p->scenes[p->n_scenes];
    memset(s, 0, sizeof *s);
    if (!(s->id = strdup(scene_id))) return NULL;
    p->n_scenes++;
    return s;
}

static int replace(char **dst, const char *src) {
    char *c = strdup(src ? src : "");
    if (!c) return -1;
    free(*dst);
    *dst = c;
    return 0;
}

static void seen_version(fleet_scene *s, int64_t v) {
    if (v > s->version) s->version = v;
}

/* scene_created / scene_updated: the whole state, each part under its own version. */
static int fold_state(fleet_project *p, const bf_msg_editor_event *ev) {
    const bf_editor_scene *e = &ev->scene;
    fleet_scene *s = scene_get(p, e->scene_id);
    if (!s) return -1;
    if (e->version > s->content_version) {
        if (replace(&s->name, e->name) || replace(&s->description, e->description)) return -1;
        s->duration_ms = e->duration_ms;
        s->content_version = e->version;
        if (ev->event == BF_EDITOR_SCENE_CREATED && ev->from_image.present && replace(&s->image_url, ev->from_image.url))
            return -1;
    }
    if (e->version > s->position_version) {
        s->position = e->position;
        s->position_version = e->version;
    }
    if (ev->event == BF_EDITOR_SCENE_CREATED && e->version > s->created_version) s->created_version = e->version;
    seen_version(s, e->version);
    return 0;
}

static int fold_deleted(fleet_project *p, const bf_msg_editor_event *ev) {
    fleet_scene *s = scene_get(p, ev->scene.scene_id);
    if (!s) return -1;
    if (ev->scene.version > s->deleted_version) s->deleted_version = ev->scene.version;
    seen_version(s, ev->scene.version);
    return 0;
}

static int fold_order(fleet_project *p, const bf_msg_editor_event *ev) {
    for (size_t i = 0; i < ev->n_order; i++) {
        const bf_editor_position *o = &ev->order[i];
        fleet_scene *s = scene_get(p, o->scene_id);
        if (!s) return -1;
        if (o->version > s->position_version) {
            s->position = o->position;
            s->position_version = o->version;
        }
        seen_version(s, o->version);
    }
    return 0;
}

static fleet_request_mark *mark_get(fleet_project *p, const char *request_id) {
    fleet_request_mark *m = (fleet_request_mark *)fleet_project_mark(p, request_id);
    if (m) return m;
    if (p->n_marks < FLEET_MARKS_MAX) {
        if (p->n_marks == p->cap_marks) {
            size_t cap = p->cap_marks ? p->cap_marks * 2 : 8;
            if (cap > FLEET_MARKS_MAX) cap = FLEET_MARKS_MAX;
            fleet_request_mark *n = realloc(p->marks, cap * sizeof *n);
            if (!n) return NULL;
            memset(n + p->cap_marks, 0, (cap - p->cap_marks) * sizeof *n);
            p->marks = n;
            p->cap_marks = cap;
        }
        m = &p->marks[p->n_marks++];
        p->next_mark = p->n_marks % FLEET_MARKS_MAX; /* full: the ring starts at the oldest */
    } else {
        m = &p->marks[p->next_mark];
        mark_clear(m);
        p->next_mark = (p->next_mark + 1) % FLEET_MARKS_MAX;
    }
    snprintf(m->request_id, sizeof m->request_id, "%s", request_id);
    return m;
}

const fleet_request_mark *fleet_project_mark(const fleet_project *p, const char *request_id) {
    for (size_t i = 0; i < p->n_marks; i++)
        if (strcmp(p->marks[i].request_id, request_id) == 0) return &p->marks[i];
    return NULL;
}

/* What the event tells about its brain request. */
static int fold_mark(fleet_project *p, const bf_msg_editor_event *ev) {
    if (!ev->request_id[0] || ev->origin == BF_ORIGIN_USER) return 0;
    bool decision = ev->event == BF_EDITOR_DECISION_APPLIED || ev->event == BF_EDITOR_DECISION_FAILED;
    bool scene_step = ev->event == BF_EDITOR_SCENE_CREATED || ev->event == BF_EDITOR_SCENE_UPDATED ||
                      ev->event == BF_EDITOR_SCENE_DELETED;
    if (!decision && !(scene_step && ev->step >= 0 && ev->step < FLEET_STEPS_MAX)) return 0;
    fleet_request_mark *m = mark_get(p, ev->request_id);
    if (!m) return -1;
    if (decision) {
        m->reported = true;
        m->failed = ev->event == BF_EDITOR_DECISION_FAILED;
        return 0;
    }
    size_t k = (size_t)ev->step;
    if (m->done & (1u << k)) return 0; /* the step's first event named its scene */
    m->done |= 1u << k;
    m->tools[k] = ev->tool;
    if (ev->from_image.present && replace(&m->images[k], ev->from_image.url)) return -1;
    return replace(&m->scene_ids[k], ev->scene.scene_id);
}

int fleet_project_mark_image(fleet_project *p, const char *request_id, size_t k, const char *url) {
    fleet_request_mark *m = mark_get(p, request_id);
    if (!m || k >= FLEET_STEPS_MAX) return -1;
    return replace(&m->images[k], url);
}

int fleet_storyboard_apply(fleet_storyboards *sb, const bf_msg_editor_event *ev) {
    fleet_project *p = fleet_storyboards_project(sb, ev->env.project_id);
    if (!p) return -1;
    int rc = 0;
    switch (ev->event) {
    case BF_EDITOR_SCENE_CREATED:
    case BF_EDITOR_SCENE_UPDATED: rc = fold_state(p, ev); break;
    case BF_EDITOR_SCENE_DELETED: rc = fold_deleted(p, ev); break;
    case BF_EDITOR_SCENES_REORDERED: rc = fold_order(p, ev); break;
    case BF_EDITOR_DECISION_APPLIED:
    case BF_EDITOR_DECISION_FAILED: break;
    }
    if (rc == 0) rc = fold_mark(p, ev);
    if (rc == 0) p->events++;
    return rc;
}

static int by_position(const void *a, const void *b) {
    const fleet_scene *x = *(fleet_scene *const *)a, *y = *(fleet_scene *const *)b;
    if (x->position != y->position) return x->position < y->position ? -1 : 1;
    return strcmp(x->id, y->id);
}

fleet_scene **fleet_project_order(const fleet_project *p, size_t *n_live, bool *oom) {
    *n_live = 0;
    if (oom) *oom = false;
    size_t n = 0;
    for (size_t i = 0; i < p->n_scenes; i++) n += fleet_scene_live(&p->scenes[i]);
    if (!n) return NULL;
    fleet_scene **v = malloc(n * sizeof *v);
    if (!v) {
        if (oom) *oom = true;
        return NULL;
    }
    n = 0;
    for (size_t i = 0; i < p->n_scenes; i++)
        if (fleet_scene_live(&p->scenes[i])) v[n++] = &p->scenes[i];
    qsort(v, n, sizeof *v, by_position);
    *n_live = n;
    return v;
}

cJSON *fleet_storyboard_json(const fleet_project *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o && cJSON_AddStringToObject(o, "project_id", p->id) ? cJSON_AddArrayToObject(o, "scenes") : NULL;
    if (!arr) {
        cJSON_Delete(o);
        return NULL;
    }
    size_t n;
    bool oom;
    fleet_scene **v = fleet_project_order(p, &n, &oom);
    for (size_t i = 0; i < n && !oom; i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s) {
            oom = true;
            break;
        }
        cJSON_AddItemToArray(arr, s);
        oom = !cJSON_AddStringToObject(s, "scene_id", v[i]->id) || !cJSON_AddStringToObject(s, "name", v[i]->name) ||
              !cJSON_AddNumberToObject(s, "position", (double)v[i]->position) ||
              !cJSON_AddNumberToObject(s, "duration_ms", (double)v[i]->duration_ms) ||
              !cJSON_AddStringToObject(s, "description", v[i]->description ? v[i]->description : "") ||
              !cJSON_AddNumberToObject(s, "version", (double)v[i]->version);
    }
    free(v);
    if (oom) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void fleet_storyboard_print(const fleet_project *p, FILE *out) {
    size_t n;
    fleet_scene **v = fleet_project_order(p, &n, NULL);
    fprintf(out, "storyboard of %s: %zu scene%s\n", p->id, n, n == 1 ? "" : "s");
    if (n) fprintf(out, "  %-4s %-20s %9s %4s  %s\n", "POS", "SCENE", "DURATION", "VER", "NAME");
    for (size_t i = 0; i < n; i++) {
        const fleet_scene *s = v[i];
        fprintf(out, "  %-4lld %-20s %7.1f s %4lld  %s\n", (long long)s->position, s->id, (double)s->duration_ms / 1000.0,
                (long long)s->version, s->name ? s->name : "");
        /* The description line by line, indented, so a multi-line one stays readable. */
        const char *d = s->description ? s->description : "";
        while (*d) {
            size_t len = strcspn(d, "\n");
            fprintf(out, "       | %.*s\n", (int)len, d);
            d += len + (d[len] == '\n');
        }
    }
    free(v);
}
