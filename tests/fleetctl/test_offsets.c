/* Offset plans for `group reset` (every mode, clamped to the log), the saved-offsets file (round
 * trip and every malformed form), and the capture lines `report --from-file` reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fleet_capture.h"
#include "fleet_offsets.h"
#include "fleet_time.h"

static fleet_offset_row row(int64_t current, int64_t low, int64_t high) {
    fleet_offset_row r = {.partition = 3, .current = current, .target = FLEET_OFFSET_NONE, .low = low, .high = high};
    snprintf(r.topic, sizeof r.topic, "brainRequests");
    return r;
}

static int64_t target(fleet_offset_row r, fleet_reset_mode mode, int64_t arg) {
    char err[128];
    assert_int_equal(fleet_offsets_target(&r, mode, arg, err, sizeof err), 0);
    return r.target;
}

static void targets(void **state) {
    (void)state;
    fleet_offset_row r = row(50, 10, 100);
    assert_int_equal(target(r, FLEET_RESET_TO_OFFSET, 42), 42);
    assert_int_equal(target(r, FLEET_RESET_TO_OFFSET, 5), 10);     /* before the log start */
    assert_int_equal(target(r, FLEET_RESET_TO_OFFSET, 500), 100);  /* past the end */
    assert_int_equal(target(r, FLEET_RESET_TO_OFFSET, FLEET_OFFSET_EARLIEST), 10);
    assert_int_equal(target(r, FLEET_RESET_TO_OFFSET, FLEET_OFFSET_LATEST), 100);
    assert_int_equal(target(r, FLEET_RESET_SHIFT_BY, -20), 30);
    assert_int_equal(target(r, FLEET_RESET_SHIFT_BY, -45), 10);
    assert_int_equal(target(r, FLEET_RESET_SHIFT_BY, 70), 100);
    assert_int_equal(target(r, FLEET_RESET_SHIFT_BY, INT64_MAX), 100); /* no overflow */
    assert_int_equal(target(r, FLEET_RESET_SHIFT_BY, INT64_MIN + 1), 10);
    assert_int_equal(target(r, FLEET_RESET_TO_TIME, 77), 77);
    assert_int_equal(target(r, FLEET_RESET_TO_TIME, -1), 100); /* no record that late: the end */
    /* Nothing committed: a shift leaves the partition alone. */
    assert_int_equal(target(row(FLEET_OFFSET_NONE, 0, 9), FLEET_RESET_SHIFT_BY, -3), FLEET_OFFSET_NONE);
    assert_int_equal(fleet_offsets_lag(&r), 50);
    fleet_offset_row none = row(FLEET_OFFSET_NONE, 0, 9);
    assert_int_equal(fleet_offsets_lag(&none), -1);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void saved_file(void **state) {
    (void)state;
    char path[] = "/tmp/fleet-offsets-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    fleet_offset_row rows[2] = {row(50, 0, 100), row(FLEET_OFFSET_NONE, 0, 100)};
    rows[1].partition = 4;
    char err[256];
    assert_int_equal(fleet_offsets_save(path, "brain-worker", rows, 2, 1764700000000, err, sizeof err), 0);
    /* Never overwritten: it may be the only way back. */
    assert_int_equal(fleet_offsets_save(path, "brain-worker", rows, 2, 1764700000000, err, sizeof err), -1);
    fleet_offset_row *got;
    size_t n;
    assert_int_equal(fleet_offsets_load(path, "brain-worker", &got, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(got[0].topic, "brainRequests");
    assert_int_equal(got[0].partition, 3);
    assert_int_equal(got[0].target, 50);
    assert_int_equal(got[1].partition, 4);
    assert_int_equal(got[1].target, FLEET_OFFSET_NONE);
    free(got);
    assert_int_equal(fleet_offsets_load(path, "image-worker", &got, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "not 'image-worker'"));
    static const char *const bad[] = {
        "brain-worker\tbrainRequests\t3\n",                 /* a field missing */
        "brain-worker\tbrainRequests\tx\t5\n",              /* partition not a number */
        "brain-worker\tbrainRequests\t3\t-5\n",             /* negative offset */
        "brain-worker\tbrainRequests\t3\t5\textra\n",       /* a field too many */
        "brain-worker\t\t3\t5\n",                           /* empty topic */
        "# only comments\n",                                /* nothing to restore */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i]);
        if (fleet_offsets_load(path, "brain-worker", &got, &n, err, sizeof err) != -1)
            fail_msg("accepted malformed file %zu: '%s'", i, bad[i]);
        assert_null(got);
    }
    unlink(path);
    assert_int_equal(fleet_offsets_load("/nonexistent/x", "g", &got, &n, err, sizeof err), -1);
}

static void capture_lines(void **state) {
    (void)state;
    static const unsigned char bin[] = {0xff, 0x00, 0x41};
    fleet_record r = {.topic = "brainDecisions", .partition = 2, .offset = 7, .timestamp_ms = 1764700000123,
                      .key = "p-1", .key_len = 3, .value = "{\"schema\":\"brainDecisions\",\"n\":1}", .len = 33,
                      .n_headers = 2};
    r.headers[0] = (fleet_header){"traceparent", "00-abc", 6};
    r.headers[1] = (fleet_header){"raw", bin, sizeof bin};
    char *line = fleet_record_json(&r);
    fleet_capture_record cr;
    char err[256];
    assert_int_equal(fleet_capture_parse_line(line, &cr, err, sizeof err), 0);
    free(line);
    assert_string_equal(cr.rec.topic, "brainDecisions");
    assert_int_equal(cr.rec.partition, 2);
    assert_int_equal(cr.rec.offset, 7);
    assert_int_equal(cr.rec.timestamp_ms, 1764700000123);
    assert_int_equal(cr.rec.key_len, 3);
    assert_memory_equal(cr.rec.key, "p-1", 3);
    assert_int_equal(cr.rec.len, 33);
    assert_memory_equal(cr.rec.value, "{\"schema\":\"brainDecisions\",\"n\":1}", 33);
    assert_int_equal(cr.rec.n_headers, 2);
    assert_int_equal(cr.rec.headers[1].len, 3);
    assert_memory_equal(cr.rec.headers[1].value, bin, 3);
    fleet_capture_record_free(&cr);
    static const char *const bad[] = {
        "", "not json", "[]", "{\"topic\":\"t\"}", "{\"topic\":1,\"partition\":0,\"offset\":0,\"timestamp_ms\":0}",
        "{\"topic\":\"t\",\"partition\":0,\"offset\":0,\"timestamp_ms\":0,\"value_base64\":\"!!!\"}",
        "{\"topic\":\"t\",\"partition\":0,\"offset\":0,\"timestamp_ms\":0,\"headers\":[{\"value\":\"x\"}]}",
        "{\"topic\":\"t\",\"partition\":0,\"offset\":0,\"timestamp_ms\":0,\"headers\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fleet_capture_parse_line(bad[i], &cr, err, sizeof err) != -1) fail_msg("accepted '%s'", bad[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(targets), cmocka_unit_test(saved_file),
                                       cmocka_unit_test(capture_lines)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
