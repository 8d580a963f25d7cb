/* tests/capi/test_train_mpi.c: the MPI side of mos_train_options through the
 * C API, in a program that never initializes MPI (docs/training.md):
 *  * options of version 1 (before mpi_comm) are still read: a version-1 struct
 *    reaches the corpus (MOS_IO for a missing one), not MOS_VERSION;
 *  * mpi_comm set without MPI running is refused before any work, naming the
 *    problem: MOS_INVALID_ARGUMENT in a library built with MPI (MPI is not
 *    initialized), MOS_UNSUPPORTED in one built without;
 *  * mpi_comm NULL trains as one process (the rest of the C API tests). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mos/mos.h"

static mos_train_options options(void) {
    mos_train_options o = MOS_TRAIN_OPTIONS_INIT;
    o.data_dir = "/nonexistent/corpus";
    o.src_lang = "xx";
    o.tgt_lang = "yy";
    o.out_path = "/nonexistent/out.safetensors";
    o.max_steps = 1;
    o.threads = 1;
    return o;
}

static void version_1_still_read(void **state) {
    (void)state;
    mos_space *space = NULL;
    assert_int_equal(mos_space_create_preset(&space, "small"), MOS_OK);
    mos_train_options o = options();
    o.version = 1u;
    o.mpi_comm = (void *)&o; /* past a version-1 struct's end: must not be read */
    mos_supernet *net = NULL;
    assert_int_equal(mos_train(&net, space, NULL, &o, NULL, NULL), MOS_IO);
    assert_null(net);
    assert_non_null(strstr(mos_last_error(), "nonexistent"));
    o.version = 3u;
    assert_int_equal(mos_train(&net, space, NULL, &o, NULL, NULL), MOS_VERSION);
    assert_int_equal(MOS_TRAIN_OPTIONS_VERSION, 2u);
    mos_space_destroy(space);
}

static void communicator_without_mpi(void **state) {
    (void)state;
    mos_space *space = NULL;
    assert_int_equal(mos_space_create_preset(&space, "small"), MOS_OK);
    mos_train_options o = options();
    int not_a_comm = 0;
    o.mpi_comm = &not_a_comm;
    mos_supernet *net = NULL;
    const mos_status s = mos_train(&net, space, NULL, &o, NULL, NULL);
    assert_null(net);
#ifdef MOS_HAVE_MPI
    assert_int_equal(s, MOS_INVALID_ARGUMENT);
    assert_non_null(strstr(mos_last_error(), "MPI is not initialized"));
#else
    assert_int_equal(s, MOS_UNSUPPORTED);
    assert_non_null(strstr(mos_last_error(), "built without MPI"));
#endif
    mos_space_destroy(space);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_1_still_read),
        cmocka_unit_test(communicator_without_mpi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
