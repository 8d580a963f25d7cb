/* tests/unit/test_base.c: status strings, the last-error message, versions and
 * build facts of mos/base.h, exercised from plain C. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mos/mos.h"

/* Every status value; tests/abi/check_status.py checks this list against the
 * header so that a new code cannot be forgotten here. */
static const mos_status all_status[] = {
    MOS_OK, MOS_INVALID_ARGUMENT, MOS_OUT_OF_MEMORY, MOS_UNSUPPORTED, MOS_OUT_OF_RANGE,
    MOS_IO, MOS_FORMAT, MOS_VERSION, MOS_ABORTED, MOS_BACKEND, MOS_INTERNAL,
};
#define N_STATUS (sizeof all_status / sizeof all_status[0])

static void status_strings_are_distinct_and_named(void **state) {
    (void)state;
    for (size_t i = 0; i < N_STATUS; i++) {
        const char *s = mos_status_str(all_status[i]);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown status");
        assert_true(strncmp(s, "MOS_", 4) == 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all_status[i], all_status[j]);
            assert_string_not_equal(s, mos_status_str(all_status[j]));
        }
    }
    assert_int_equal(MOS_OK, 0);
}

static void unknown_status_has_a_string(void **state) {
    (void)state;
    assert_string_equal(mos_status_str((mos_status)12345), "unknown status");
    assert_string_equal(mos_status_str((mos_status)-1), "unknown status");
}

static void last_error_starts_empty_and_never_null(void **state) {
    (void)state;
    mos_clear_error();
    assert_non_null(mos_last_error());
    assert_string_equal(mos_last_error(), "");
}

static void version_matches_header(void **state) {
    (void)state;
    assert_string_equal(mos_version_string(), MOS_VERSION_STRING);
    assert_int_equal(mos_version_number(), MOS_VERSION_NUMBER);
    assert_int_equal(MOS_VERSION_NUMBER,
                     MOS_VERSION_MAJOR * 10000 + MOS_VERSION_MINOR * 100 + MOS_VERSION_PATCH);
}

static void build_info_names_the_backends(void **state) {
    (void)state;
    const char *info = mos_build_info();
    assert_non_null(info);
    assert_non_null(strstr(info, "libmos=" MOS_VERSION_STRING));
    assert_non_null(strstr(info, "onednn=2."));
    assert_non_null(strstr(info, "openblas_core="));
    assert_non_null(strstr(info, "threads=openmp"));
    assert_ptr_equal(info, mos_build_info()); /* computed once, static */
}

static void features_are_consistent(void **state) {
    (void)state;
    assert_int_equal(mos_has_feature(MOS_FEATURE_OPENMP), 1);
    assert_int_equal(mos_has_feature(MOS_FEATURE_ONEDNN), 1);
    if (mos_has_feature(MOS_FEATURE_BF16)) assert_int_equal(mos_has_feature(MOS_FEATURE_AVX512), 1);
    assert_int_equal(mos_has_feature((mos_feature)999), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_strings_are_distinct_and_named),
        cmocka_unit_test(unknown_status_has_a_string),
        cmocka_unit_test(last_error_starts_empty_and_never_null),
        cmocka_unit_test(version_matches_header),
        cmocka_unit_test(build_info_names_the_backends),
        cmocka_unit_test(features_are_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
