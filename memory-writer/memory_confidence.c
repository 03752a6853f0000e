#include "memory_confidence.h"

static double clamp01(double x) {
    if (!(x >= 0.0)) return 0.0; /* also maps NaN to 0 */
    return x > 1.0 ? 1.0 : x;
}

memory_merge_result memory_confidence_merge(memory_belief old, double w, bool update_explicit, bool same_value) {
    double c = clamp01(old.confidence);
    w = clamp01(w);
    memory_merge_result r = {.belief = {.confidence = c, .is_explicit = old.is_explicit}, .take_value = false};
    if (old.is_explicit && !update_explicit) return r;
    r.belief.is_explicit = old.is_explicit || update_explicit;
    if (same_value) {
        r.belief.confidence = c + (1.0 - c) * w;
        return r;
    }
    double weakened = c * (1.0 - w);
    if (!update_explicit && weakened >= w) {
        r.belief.confidence = weakened;
        return r;
    }
    r.belief.confidence = w;
    r.take_value = true;
    return r;
}
