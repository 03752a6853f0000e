#include "brain_memory.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_memory_update.h"

typedef struct trigger {
    const char *words;
    const char *polarity;
} trigger;

static const trigger triggers[] = {
    {"i prefer", "prefer"},   {"i like", "prefer"},      {"i love", "prefer"},    {"always use", "prefer"},
    {"please always", "prefer"}, {"i always want", "prefer"}, {"never use", "avoid"}, {"i hate", "avoid"},
    {"i don't like", "avoid"}, {"i do not like", "avoid"}, {"please never", "avoid"},
};

static const char *find_ci(const char *hay, const char *needle, const char *end) {
    size_t n = strlen(needle);
    for (const char *p = hay; p + n <= end; p++) {
        if (p != hay && isalnum((unsigned char)p[-1])) continue;
        if (strncasecmp(p, needle, n) == 0 && (p + n == end || !isalnum((unsigned char)p[n]))) return p;
    }
    return NULL;
}

size_t brain_memory_stated_preferences(const char *prompt, brain_stated_pref *out, size_t max) {
    size_t n = 0;
    const char *s = prompt ? prompt : "";
    while (*s && n < max) {
        const char *e = s;
        while (*e && *e != '.' && *e != '!' && *e != '?' && *e != '\n' && *e != ';') e++;
        for (size_t t = 0; t < sizeof triggers / sizeof triggers[0] && n < max; t++) {
            const char *hit = find_ci(s, triggers[t].words, e);
            if (!hit) continue;
            const char *phrase = hit + strlen(triggers[t].words);
            while (phrase < e && isspace((unsigned char)*phrase)) phrase++;
            if (phrase >= e) continue;
            brain_stated_pref *p = &out[n];
            size_t k = snprintf(p->key, sizeof p->key, "stated:");
            for (const char *c = phrase; c < e && k < 7 + 64 && k + 1 < sizeof p->key; c++) {
                unsigned char ch = (unsigned char)*c;
                p->key[k++] = isspace(ch) ? ' ' : (char)tolower(ch);
            }
            while (k > 7 && p->key[k - 1] == ' ') k--;
            p->key[k] = '\0';
            const char *st = s;
            while (st < e && isspace((unsigned char)*st)) st++;
            int len = (int)(e - st);
            snprintf(p->statement, sizeof p->statement, "%.*s", len, st);
            p->polarity = triggers[t].polarity;
            n++;
            break; /* one preference per sentence */
        }
        s = *e ? e + 1 : e;
    }
    return n;
}

void brain_memory_assistant_id(const char *request_id, char *out) {
    snprintf(out, BF_UUID_LEN + 1, "%s", request_id);
    size_t n = strlen(out);
    if (!n) return;
    char c = out[n - 1];
    int v = isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
    v ^= 1;
    out[n - 1] = (char)(v < 10 ? '0' + v : 'a' + v - 10);
}

static char *json_text(cJSON *o) {
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

char *brain_memory_encode(const brain_memory_input *in, int64_t now_ms, char *err, size_t errlen) {
    bf_msg_memory_update m;
    memset(&m, 0, sizeof m);
    if (bf_envelope_init(&m.env, BF_SCHEMA_MEMORY_UPDATES, in->project_id, in->traceparent, "brain-worker", now_ms,
                         err, errlen) != 0)
        return NULL;
    /* A request decided twice (its first decision was not committed before a crash) must not apply
     * its memory twice: the event id is derived from the request, so memory-writer's ledger sees
     * the second update as the same event. */
    char name[BF_UUID_LEN + 32];
    snprintf(name, sizeof name, "memoryUpdates:%s", in->request_id);
    bf_uuid_v7_derived(in->request_produced_ms, name, m.env.event_id);
    snprintf(m.request_id, sizeof m.request_id, "%s", in->request_id);
    const char *conv = in->conversation_id && *in->conversation_id ? in->conversation_id : "default";
    const brain_answer *a = in->answer;
    bf_conversation_message msgs[2];
    memset(msgs, 0, sizeof msgs);
    snprintf(msgs[0].message_id, sizeof msgs[0].message_id, "%s", in->request_id);
    msgs[0].role = BF_ROLE_USER;
    msgs[0].content = (char *)in->prompt;
    msgs[0].conversation_id = (char *)conv;
    brain_memory_assistant_id(in->request_id, msgs[1].message_id);
    msgs[1].role = BF_ROLE_ASSISTANT;
    const char *reply = a->tool == BRAIN_TOOL_CLARIFY && a->question ? a->question : a->summary;
    char fallback[64];
    snprintf(fallback, sizeof fallback, "Decided: %s.", brain_tool_name(a->tool));
    msgs[1].content = (char *)(reply && *reply ? reply : fallback);
    msgs[1].conversation_id = (char *)conv;
    m.messages = msgs;
    m.n_messages = 2;

    msgs[0].turn = msgs[1].turn = in->turn > 0 ? in->turn : 0;

    /* Scene relationships come from what the editor applied (memory-writer derives them from
     * editorEvents), not from what the brain decided. The brain writes where the conversation
     * stands: merged field by field with what memory-writer adds from the editor's reports. */
    bf_memory_item items[8];
    char *values[8] = {0};
    size_t ni = 0;
    char conv_key[BF_ID_MAX + 32];
    if (in->conversation) {
        snprintf(conv_key, sizeof conv_key, "conversation:%s", conv);
        values[ni] = json_text(brain_conversation_brain_fields_new(in->conversation));
        items[ni] = (bf_memory_item){.memory_type = BF_MEMORY_CONVERSATION_CONTEXT, .key = conv_key,
                                     .value = values[ni], .confidence = 1.0, .source = "brain-worker:turn",
                                     .is_explicit = false,
                                     .expires_at_ms = in->conversation_expires_ms > 0 ? in->conversation_expires_ms : -1};
        ni++;
    }
    brain_stated_pref prefs[7];
    size_t np = brain_memory_stated_preferences(in->prompt, prefs, 7);
    for (size_t i = 0; i < np; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "statement", prefs[i].statement);
        cJSON_AddStringToObject(v, "polarity", prefs[i].polarity);
        values[ni] = json_text(v);
        items[ni] = (bf_memory_item){.memory_type = BF_MEMORY_USER_PREFERENCE, .key = prefs[i].key,
                                     .value = values[ni], .confidence = 1.0, .source = "brain-worker:prompt",
                                     .is_explicit = true, .expires_at_ms = -1};
        ni++;
    }
    char *out = NULL;
    bool oom = false;
    for (size_t i = 0; i < ni; i++) oom |= values[i] == NULL;
    m.items = items;
    m.n_items = ni;
    if (oom) snprintf(err, errlen, "out of memory");
    else out = bf_msg_memory_update_encode(&m, err, errlen);
    for (size_t i = 0; i < ni; i++) free(values[i]);
    return out;
}
