/* bindings/java/test/handle_test.i: a small C handle built only for the tests,
 * wrapped with MOS_HANDLE exactly as the library's handles are, so that the
 * Java test checks the AutoCloseable mapping (destroy runs once, close() is
 * idempotent, a closed handle reaches C as NULL). */
%module HandleTest

%{
#include <stdlib.h>
typedef struct mos_test_handle mos_test_handle;
struct mos_test_handle { int value; };
static int mos_test_destroyed = 0;
static mos_test_handle *mos_test_handle_new(int value) {
    mos_test_handle *h = (mos_test_handle *)malloc(sizeof *h);
    if (h) h->value = value;
    return h;
}
static void mos_test_handle_destroy(mos_test_handle *h) {
    if (!h) return;
    mos_test_destroyed++;
    free(h);
}
static int mos_test_handle_value(const mos_test_handle *h) { return h ? h->value : -1; }
static int mos_test_destroyed_count(void) { return mos_test_destroyed; }
%}

%include "handles.i"

MOS_HANDLE(mos_test_handle, mos_test_handle_destroy)
%extend mos_test_handle {
  mos_test_handle(int value) { return mos_test_handle_new(value); }
}
typedef struct mos_test_handle mos_test_handle;
void mos_test_handle_destroy(mos_test_handle *h);
int mos_test_handle_value(const mos_test_handle *h);
int mos_test_destroyed_count(void);
