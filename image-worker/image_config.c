#include "image_config.h"

#include <stddef.h>

#define F(field) offsetof(image_cfg, field)
#define NOBOUND 1, 0

const bf_cfg_var image_cfg_vars[] = {
    {"FETCH_TIMEOUT", BF_CFG_MS, F(fetch_timeout_ms), "15s", 100, 600000, NULL, 0,
     "Longest time one image download may take, connection included; slower bodies fail with "
     "fetch_timeout."},
    {"FETCH_CONNECT_TIMEOUT", BF_CFG_MS, F(connect_timeout_ms), "5s", 100, 60000, NULL, 0,
     "Longest time to establish the connection to an image host."},
    {"MAX_IMAGE_BYTES", BF_CFG_BYTES, F(max_image_bytes), "20M", 1024, 1073741824, NULL, 0,
     "Largest image body accepted; a larger one is aborted while downloading (fetch_too_large)."},
    {"FETCH_MAX_REDIRECTS", BF_CFG_INT, F(max_redirects), "3", 0, 20, NULL, 0,
     "Redirects followed per image; every hop is checked against the address rules."},
    {"MAX_IMAGE_PIXELS", BF_CFG_INT, F(max_pixels), "40000000", 1, 1000000000, NULL, 0,
     "Largest declared width x height decoded; checked from the header before any pixel memory is "
     "allocated, so decompression bombs are refused (image_too_large)."},
    {"FETCH_ALLOW_CIDRS", BF_CFG_STRING, F(allow_cidrs), "", NOBOUND, NULL, 0,
     "Comma-separated CIDRs the fetcher may connect to although they are loopback, private, "
     "link-local or metadata addresses (refused by default against SSRF), e.g. 127.0.0.1/32 for the "
     "local demo. The check applies to the address actually connected to, after DNS and redirects."},
    {"FETCH_CONCURRENCY", BF_CFG_INT, F(fetch_concurrency), "64", 1, 10000, NULL, 0,
     "HTTP transfers (image downloads and vision calls) in flight at once; more wait in a queue."},
    {"CACHE_ENTRIES", BF_CFG_INT, F(cache_entries), "10000", 0, 10000000, NULL, 0,
     "Analyses kept in memory (by content hash and by URL); 0 turns the cache off."},
    {"CACHE_BYTES", BF_CFG_BYTES, F(cache_bytes), "64M", 0, 17179869184.0, NULL, 0,
     "Memory the analysis cache may use, at most."},
    {"CACHE_TTL", BF_CFG_MS, F(cache_ttl_ms), "10m", 0, 86400000, NULL, 0,
     "How long a cached analysis (or URL) is reused without fetching again."},
    {"VISION_URL", BF_CFG_URL, F(vision_url), "", NOBOUND, NULL, 0,
     "OpenAI-compatible API of a vision model, by the same rule as BRAINFLEET_LLM_URL: the base "
     "with its version (https://api.openai.com/v1), a bare host, or the full .../chat/completions "
     "endpoint. Empty: built-in analysis only."},
    {"VISION_MODEL", BF_CFG_STRING, F(vision_model), "", NOBOUND, NULL, 0,
     "Model name sent to BRAINFLEET_VISION_URL; required when that is set."},
    {"VISION_API_KEY", BF_CFG_STRING, F(vision_api_key), "", NOBOUND, NULL, BF_CFG_SECRET,
     "Bearer token for BRAINFLEET_VISION_URL (from a Secret; never logged)."},
    {"VISION_TIMEOUT", BF_CFG_MS, F(vision_timeout_ms), "60s", 100, 600000, NULL, 0,
     "Longest time one vision call may take."},
    {"VISION_ATTEMPTS", BF_CFG_INT, F(vision_attempts), "4", 1, 20, NULL, 0,
     "Tries per vision call on 429, 5xx, timeouts and connection errors (backoff with jitter, "
     "Retry-After honoured). After the last one the built-in facts are published with the error."},
    {"VISION_RETRY_MAX", BF_CFG_MS, F(vision_retry_max_ms), "30s", 10, 600000, NULL, 0,
     "Longest pause between two vision attempts, Retry-After included."},
    {"VISION_IMAGE_MODE", BF_CFG_ENUM, F(vision_image_mode), "data", NOBOUND, "data|url", 0,
     "How the image reaches the vision model: data (base64 data: URL of the fetched bytes; works "
     "for private images) or url (the original URL; the model's provider fetches it)."},
};
const size_t image_cfg_n = sizeof image_cfg_vars / sizeof image_cfg_vars[0];
