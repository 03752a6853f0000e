/* The workers' command lines: a subcommand, its own flags, --help/--version anywhere; everything
 * else is a usage error, so `memory-writer --migrate` (a typo) never joins the live group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bf_app.h"

static const char *const migrate_flags[] = {"--dry-run", NULL};
static const bf_app_command commands[] = {{"run", NULL}, {"migrate", migrate_flags}, {"cleanup", NULL}};
static const bf_app_spec with_commands = {.worker = "memory-writer", .usage = "u", .commands = commands,
                                          .n_commands = 3};
static const bf_app_spec plain = {.worker = "brain-worker", .usage = "u"};

static int parse(const bf_app_spec *spec, const char **command, const char **bad, int argc, ...) {
    char *argv[8] = {"prog"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc; i++) argv[i] = va_arg(ap, char *);
    va_end(ap);
    return bf_app_parse_args(spec, argc, argv, command, bad);
}

static void test_commands_and_flags(void **state) {
    (void)state;
    const char *cmd, *bad;
    assert_int_equal(parse(&with_commands, &cmd, &bad, 1), 0);
    assert_string_equal(cmd, "run");
    assert_int_equal(parse(&with_commands, &cmd, &bad, 2, "migrate"), 0);
    assert_string_equal(cmd, "migrate");
    assert_int_equal(parse(&with_commands, &cmd, &bad, 3, "migrate", "--dry-run"), 0);
    assert_string_equal(cmd, "migrate");
    assert_int_equal(parse(&with_commands, &cmd, &bad, 2, "cleanup"), 0);
    assert_string_equal(cmd, "cleanup");
}

static void test_unknown_arguments(void **state) {
    (void)state;
    const char *cmd, *bad;
    assert_int_equal(parse(&with_commands, &cmd, &bad, 2, "--migrate"), 2);
    assert_string_equal(bad, "--migrate");
    assert_int_equal(parse(&with_commands, &cmd, &bad, 2, "migrat"), 2);
    assert_string_equal(bad, "migrat");
    /* A flag belongs to its command: run takes no --dry-run. */
    assert_int_equal(parse(&with_commands, &cmd, &bad, 3, "run", "--dry-run"), 2);
    assert_int_equal(parse(&with_commands, &cmd, &bad, 2, "--dry-run"), 2);
    assert_int_equal(parse(&with_commands, &cmd, &bad, 4, "migrate", "--dry-run", "extra"), 2);
    assert_string_equal(bad, "extra");
    assert_int_equal(parse(&plain, &cmd, &bad, 2, "run"), 2);
    assert_int_equal(parse(&plain, &cmd, &bad, 2, "-v"), 2);
    assert_null(cmd);
}

static void test_help_and_version_win(void **state) {
    (void)state;
    const char *cmd, *bad;
    assert_int_equal(parse(&plain, &cmd, &bad, 2, "--version"), 3);
    assert_int_equal(parse(&plain, &cmd, &bad, 3, "--bogus", "--help"), 1);
    assert_int_equal(parse(&with_commands, &cmd, &bad, 3, "migrate", "-h"), 1);
    assert_int_equal(parse(&plain, &cmd, &bad, 2, "--help-markdown"), 0);
    assert_true(strlen(bf_app_version()) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_and_flags),
        cmocka_unit_test(test_unknown_arguments),
        cmocka_unit_test(test_help_and_version_win),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
