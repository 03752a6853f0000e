#include "memory_batch.h"

#include <stdlib.h>
#include <string.h>

/* Copies n strings (NULL allowed) into one new allocation, *block, with dst[i] pointing at the
 * copy of src[i]: a row of two dozen cells costs one malloc and one free rather than one each.
 * Returns 0, or -1 when out of memory (nothing allocated). */
static int pack(const char *const *src, size_t n, char **dst, char **block) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += src[i] ? strlen(src[i]) + 1 : 0;
    char *p = malloc(total ? total : 1);
    if (!p) return -1;
    *block = p;
    for (size_t i = 0; i < n; i++) {
        if (!src[i]) {
            dst[i] = NULL;
            continue;
        }
        size_t l = strlen(src[i]) + 1;
        memcpy(p, src[i], l);
        dst[i] = p;
        p += l;
    }
    return 0;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

void memory_batch_init(memory_batch *b, size_t analysis_cols, size_t message_cols) {
    memset(b, 0, sizeof *b);
    b->analyses.ncols = analysis_cols;
    b->messages.ncols = message_cols;
    b->scenes.ncols = MEMORY_SC_COLS;
    b->relations.ncols = MEMORY_REL_COLS;
    b->evidence.ncols = MEMORY_EV_COLS;
}

/* Every row set, for what is done to all alike. */
static memory_rows *row_set(memory_batch *b, int i) {
    memory_rows *sets[] = {&b->analyses, &b->messages, &b->scenes, &b->relations, &b->evidence};
    return i < (int)(sizeof sets / sizeof sets[0]) ? sets[i] : NULL;
}

static void rows_truncate(memory_rows *r, size_t first_item) {
    while (r->n > 0 && r->item[r->n - 1] >= first_item) free(r->block[--r->n]);
}

static void upsert_free(memory_upsert *u) { free(u->block); }

void memory_batch_truncate(memory_batch *b, size_t n_items) {
    for (int i = 0; row_set(b, i); i++) rows_truncate(row_set(b, i), n_items);
    while (b->n_upserts > 0 && b->upserts[b->n_upserts - 1].item >= n_items) upsert_free(&b->upserts[--b->n_upserts]);
    while (b->n_items > n_items) {
        memory_item *it = &b->items[--b->n_items];
        free(it->event_id);
        free(it->out_env);
        free(it->out_payload);
    }
    if (b->n_items == 0) b->oldest_ms = 0;
}

void memory_batch_clear(memory_batch *b) { memory_batch_truncate(b, 0); }

void memory_batch_free(memory_batch *b) {
    memory_batch_clear(b);
    free(b->items);
    for (int i = 0; row_set(b, i); i++) {
        memory_rows *r = row_set(b, i);
        free(r->item);
        free(r->block);
        free(r->cells);
    }
    free(b->upserts);
    size_t ac = b->analyses.ncols, mc = b->messages.ncols;
    memory_batch_init(b, ac, mc);
}

size_t memory_batch_add_item(memory_batch *b, void *cause, memory_item_kind kind, const char *event_id,
                             int64_t now_ms) {
    if (!grow((void **)&b->items, &b->cap_items, b->n_items + 1, sizeof *b->items)) return SIZE_MAX;
    char *id = strdup(event_id ? event_id : "");
    if (!id) return SIZE_MAX;
    b->items[b->n_items] = (memory_item){.cause = cause, .kind = kind, .event_id = id};
    if (b->n_items == 0) b->oldest_ms = now_ms;
    return b->n_items++;
}

int memory_batch_take_output(memory_batch *b, size_t item, const bf_envelope *env, char *payload, size_t len) {
    memory_item *it = &b->items[item];
    bf_envelope *e = malloc(sizeof *e);
    if (!e) {
        free(payload);
        return -1;
    }
    *e = *env;
    free(it->out_env);
    free(it->out_payload);
    it->out_env = e;
    it->out_payload = payload;
    it->out_len = len;
    return 0;
}

/* Room for one more row in all three arrays; cap changes only once all have grown. */
static bool rows_grow(memory_rows *rows) {
    if (rows->n < rows->cap) return true;
    size_t cap = rows->cap ? rows->cap * 2 : 64;
    size_t *item = realloc(rows->item, cap * sizeof *item);
    if (!item) return false;
    rows->item = item;
    char **block = realloc(rows->block, cap * sizeof *block);
    if (!block) return false;
    rows->block = block;
    char **cells = realloc(rows->cells, cap * rows->ncols * sizeof *cells);
    if (!cells) return false;
    rows->cells = cells;
    rows->cap = cap;
    return true;
}

int memory_rows_add(memory_rows *rows, size_t item, const char *const *cells) {
    if (!rows_grow(rows)) return -1;
    if (pack(cells, rows->ncols, &rows->cells[rows->n * rows->ncols], &rows->block[rows->n]) != 0) return -1;
    rows->item[rows->n++] = item;
    return 0;
}

int memory_batch_add_upsert(memory_batch *b, size_t item, const memory_upsert_in *u) {
    if (!grow((void **)&b->upserts, &b->cap_upserts, b->n_upserts + 1, sizeof *b->upserts)) return -1;
    const char *src[] = {u->project_id, u->memory_type, u->key, u->value, u->source, u->evidence_hash};
    char *dst[6];
    memory_upsert r = {.item = item, .weight = u->weight, .is_explicit = u->is_explicit,
                       .expires_at_ms = u->expires_at_ms};
    if (pack(src, 6, dst, &r.block) != 0) return -1;
    r.project_id = dst[0];
    r.memory_type = dst[1];
    r.key = dst[2];
    r.value = dst[3];
    r.source = dst[4];
    r.evidence_hash = dst[5];
    b->upserts[b->n_upserts++] = r;
    return 0;
}

static void rows_compact(memory_rows *r, const size_t *new_index, const memory_item *items) {
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (items[r->item[i]].done) {
            free(r->block[i]);
            continue;
        }
        if (k != i) memmove(&r->cells[k * r->ncols], &r->cells[i * r->ncols], r->ncols * sizeof *r->cells);
        r->block[k] = r->block[i];
        r->item[k++] = new_index[r->item[i]];
    }
    r->n = k;
}

void memory_batch_compact(memory_batch *b) {
    size_t *new_index = b->n_items ? malloc(b->n_items * sizeof *new_index) : NULL;
    if (!new_index) return; /* done items stay; they are skipped as done until memory is back */
    size_t k = 0;
    for (size_t i = 0; i < b->n_items; i++) new_index[i] = b->items[i].done ? SIZE_MAX : k++;
    for (int i = 0; row_set(b, i); i++) rows_compact(row_set(b, i), new_index, b->items);
    size_t u = 0;
    for (size_t i = 0; i < b->n_upserts; i++) {
        if (b->items[b->upserts[i].item].done) {
            upsert_free(&b->upserts[i]);
            continue;
        }
        b->upserts[u] = b->upserts[i];
        b->upserts[u++].item = new_index[b->upserts[i].item];
    }
    b->n_upserts = u;
    k = 0;
    for (size_t i = 0; i < b->n_items; i++) {
        memory_item *it = &b->items[i];
        if (it->done) {
            free(it->event_id);
            free(it->out_env);
            free(it->out_payload);
            continue;
        }
        b->items[k++] = *it;
    }
    b->n_items = k;
    if (k == 0) b->oldest_ms = 0;
    free(new_index);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void memory_batch_mark_fresh(memory_batch *b, const char *const *ids, size_t n) {
    const char **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    bool *claimed = n ? calloc(n, sizeof *claimed) : NULL;
    if (n && (!sorted || !claimed)) n = 0; /* treated as "nothing new": effects are re-tried later */
    for (size_t i = 0; i < n; i++) sorted[i] = ids[i];
    if (n) qsort(sorted, n, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < b->n_items; i++) {
        memory_item *it = &b->items[i];
        it->fresh = false;
        if (!it->active || n == 0) continue;
        const char *key = it->event_id;
        const char **hit = bsearch(&key, sorted, n, sizeof *sorted, cmp_str);
        if (hit && !claimed[hit - sorted]) {
            claimed[hit - sorted] = true;
            it->fresh = true;
        }
    }
    free(sorted);
    free(claimed);
}

static int cmp_upsert(const void *a, const void *b, const memory_upsert *u) {
    const memory_upsert *x = &u[*(const size_t *)a], *y = &u[*(const size_t *)b];
    int c = strcmp(x->project_id, y->project_id);
    if (!c) c = strcmp(x->memory_type, y->memory_type);
    if (!c) c = strcmp(x->key, y->key);
    return c;
}

/* Stable (equal keys keep arrival order) bottom-up merge sort, O(n log n) comparisons: a batch
 * holds a thousand upserts over hundreds of projects in arrival order, on which the insertion
 * sort this replaced made ~n^2/4 strcmp calls, a twentieth of the loop thread. tmp holds n. */
static void sort_stable(size_t *idx, size_t *tmp, size_t n, const memory_upsert *u) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            /* Ties take the left run's entry first: that is what keeps arrival order. */
            while (i < mid && j < hi) tmp[k++] = cmp_upsert(&idx[j], &idx[i], u) < 0 ? idx[j++] : idx[i++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

size_t memory_batch_plan_upserts(memory_batch *b, size_t *out, size_t *rounds) {
    size_t n = 0;
    memory_upsert *u = b->upserts;
    for (size_t i = 0; i < b->n_upserts; i++) {
        const memory_item *it = &b->items[u[i].item];
        if (it->active && it->fresh) out[n++] = i;
    }
    size_t *tmp = n ? malloc(n * sizeof *tmp) : NULL;
    if (n && !tmp) {
        *rounds = 0;
        return SIZE_MAX;
    }
    sort_stable(out, tmp, n, u);
    size_t max_round = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0 && cmp_upsert(&out[i - 1], &out[i], u) == 0;
        u[out[i]].round = same ? u[out[i - 1]].round + 1 : 0;
        if (u[out[i]].round + 1 > max_round) max_round = u[out[i]].round + 1;
    }
    /* Group by round, keeping key order inside each round (stable counting pass). */
    size_t k = 0;
    for (size_t r = 0; r < max_round; r++)
        for (size_t i = 0; i < n; i++)
            if (u[out[i]].round == r) tmp[k++] = out[i];
    if (n) memcpy(out, tmp, n * sizeof *out);
    free(tmp);
    *rounds = max_round;
    return n;
}

/* ---- folding a scene's rows ---- */

static long long version_of(const char *cell) { return cell ? strtoll(cell, NULL, 10) : 0; }

static int cmp_key(const memory_rows *r, size_t a, size_t b) {
    const char *const *x = (const char *const *)&r->cells[a * r->ncols], *const *y = (const char *const *)&r->cells[b * r->ncols];
    int c = strcmp(x[0], y[0]);
    return c ? c : strcmp(x[1], y[1]);
}

/* Stable merge sort of row indices by key (ties keep arrival order). tmp holds n. */
static void sort_rows(size_t *idx, size_t *tmp, size_t n, const memory_rows *r) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cmp_key(r, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

/* Takes into dst the cells of part from src when src's version of it is higher. */
static void take_part(const char **dst, const char *const *src, int version_col, const int *cols, size_t n) {
    if (version_of(src[version_col]) <= version_of(dst[version_col])) return;
    dst[version_col] = src[version_col];
    for (size_t i = 0; i < n; i++) dst[cols[i]] = src[cols[i]];
}

static void fold_scene(const char **dst, const char *const *src) {
    static const int content[] = {MEMORY_SC_NAME, MEMORY_SC_DURATION_MS, MEMORY_SC_DESCRIPTION};
    static const int position[] = {MEMORY_SC_POSITION};
    take_part(dst, src, MEMORY_SC_CONTENT_VERSION, content, 3);
    take_part(dst, src, MEMORY_SC_POSITION_VERSION, position, 1);
    take_part(dst, src, MEMORY_SC_DELETED_VERSION, NULL, 0);
}

static void fold_relation(const char **dst, const char *const *src) {
    static const int value[] = {MEMORY_REL_VALUE};
    take_part(dst, src, MEMORY_REL_VERSION, value, 1);
    if (!dst[MEMORY_REL_FROM_IMAGE]) dst[MEMORY_REL_FROM_IMAGE] = src[MEMORY_REL_FROM_IMAGE];
}

size_t memory_batch_fold(const memory_batch *b, const memory_rows *rows, bool relations, const char **out) {
    size_t n = 0, nc = rows->ncols;
    size_t *idx = rows->n ? malloc(2 * rows->n * sizeof *idx) : NULL;
    if (rows->n && !idx) return SIZE_MAX;
    for (size_t i = 0; i < rows->n; i++) {
        const memory_item *it = &b->items[rows->item[i]];
        if (it->active && it->fresh) idx[n++] = i;
    }
    if (n) sort_rows(idx, idx + rows->n, n, rows);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *const *src = (const char *const *)&rows->cells[idx[i] * nc];
        if (i > 0 && cmp_key(rows, idx[i - 1], idx[i]) == 0) {
            if (relations) fold_relation(&out[(k - 1) * nc], src);
            else fold_scene(&out[(k - 1) * nc], src);
            continue;
        }
        memcpy(&out[k * nc], src, nc * sizeof *out);
        k++;
    }
    free(idx);
    return k;
}
