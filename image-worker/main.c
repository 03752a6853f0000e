/* image-worker: wiring only. The stage (image_stage.c) consumes imageAnalysisRequested, fetches
 * and analyses each image, and publishes imageFactsReady. */
#include <stdio.h>

#include <curl/curl.h>

#include "bf_app.h"
#include "bf_runtime.h"
#include "image_config.h"
#include "image_stage.h"

extern char **environ;

static const char usage[] =
    "Usage: image-worker [--help] [--version]\n"
    "\n"
    "Consumes imageAnalysisRequested: fetches each image over HTTP(S) (bounded size and time; no\n"
    "loopback/private/metadata addresses unless BRAINFLEET_FETCH_ALLOW_CIDRS allows them), decodes\n"
    "PNG, JPEG, GIF, BMP, WebP, HEIC and AVIF (animations by their first frame; size and orientation\n"
    "as a person sees them, after EXIF orientation or HEIF rotation), computes the built-in facts\n"
    "(palette, brightness, contrast, saturation, temperature, mood, size), adds a vision model's\n"
    "typography/style/objects/text/layout when BRAINFLEET_VISION_URL is set, and publishes\n"
    "imageFactsReady. Identical bytes are analysed once.";

int main(int argc, char **argv) {
    bf_app app;
    image_cfg icfg;
    const bf_app_spec spec = {.worker = "image-worker", .usage = usage, .stage_vars = image_cfg_vars, .n_stage = image_cfg_n,
                              .stage_cfg = &icfg};
    int rc = bf_app_init(&app, &spec, argc, argv);
    if (rc != BF_APP_CONTINUE) return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char err[1024];
    rc = 1;
    bf_runtime_opts o = {.worker = "image-worker", .cfg = &app.cfg, .input_topics = image_stage_inputs,
                         .n_inputs = image_stage_n_inputs, .output_topics = image_stage_outputs,
                         .n_outputs = image_stage_n_outputs, .log = &app.log, .metrics = app.metrics,
                         .envp = environ};
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    image_stage *st = NULL;
    if (!rt) {
        bf_log_error(&app.log, "runtime: %s", err);
    } else if (!(st = image_stage_new(rt, &icfg, NULL, err, sizeof err))) {
        fprintf(stderr, "image-worker: %s\n", err);
        rc = 2;
    } else {
        /* Not the URL: it may carry credentials (https://user:pass@host/...). */
        if (icfg.vision_url[0]) bf_log_info(&app.log, "vision model %s configured", icfg.vision_model);
        else bf_log_info(&app.log, "no BRAINFLEET_VISION_URL: built-in analysis only");
        bf_stage_ops ops = image_stage_ops();
        rc = bf_runtime_run(rt, &ops, st) == 0 ? 0 : 1;
    }
    image_stage_free(st);
    bf_runtime_free(rt);
    curl_global_cleanup();
    bf_app_cleanup(&app);
    return rc;
}
