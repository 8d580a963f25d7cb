/* bindings/swig/handles.i: MOS_HANDLE, the SWIG mapping of an opaque libmos handle
 * (typedef struct mos_x mos_x, created through T **out, freed by mos_x_destroy),
 * shared by serving.i (included by mos.i) and the binding tests.
 *
 * Use it before the header that declares the type:
 *     MOS_HANDLE(mos_model, mos_model_destroy)
 *     %extend mos_model { ...constructors/methods calling the C functions... }
 */
/* Opaque handles: MOS_HANDLE(mos_x, mos_x_destroy) makes struct mos_x a class
 * that owns its pointer. Java: AutoCloseable, close() is idempotent, a closed
 * handle passed back is rejected by the library as NULL. Go: SWIG makes the
 * destructor DeleteCX(x) (serving.i names the Go classes C<Name>); the handle[T]
 * of bindings/go/handle.go calls it once, from the Close() of the Go type. */
#if defined(SWIGJAVA)
%define MOS_HANDLE_LANG(TYPE)
%typemap(javainterfaces) struct TYPE, TYPE "AutoCloseable"
%typemap(javabody) struct TYPE, TYPE %{
  private transient long swigCPtr;
  protected transient boolean swigCMemOwn;

  protected $javaclassname(long cPtr, boolean cMemoryOwn) {
    swigCMemOwn = cMemoryOwn;
    swigCPtr = cPtr;
  }

  protected static long getCPtr($javaclassname obj) {
    return (obj == null) ? 0 : obj.swigCPtr;
  }
%}
%typemap(javadestruct, methodname="delete", methodmodifiers="public synchronized") struct TYPE, TYPE {
    if (swigCPtr != 0) {
      if (swigCMemOwn) {
        swigCMemOwn = false;
        $jnicall;
      }
      swigCPtr = 0;
    }
  }
%typemap(javacode) struct TYPE, TYPE %{
  /** Releases the native object; later calls do nothing. */
  @Override
  public void close() { delete(); }
%}
%enddef
#else
%define MOS_HANDLE_LANG(TYPE)
%enddef
#endif
%define MOS_HANDLE(TYPE, DESTROY)
MOS_HANDLE_LANG(TYPE)
%nodefaultctor TYPE;
%nodefaultdtor TYPE;
%ignore DESTROY;
/* SWIG only makes a class of a defined struct; the C side never sees this. */
struct TYPE {};
%extend TYPE {
  ~TYPE() { DESTROY($self); }
}
%enddef
