/* bindings/swig/mos.i: the one SWIG interface of libmos, generating the Java (JNI)
 * and Go (cgo) bindings from the public C headers. This file maps mos/base.h and
 * BLEU; serving.i, included at the end, maps the serving flow (spaces to
 * translation) for both languages.
 *
 * How the C API is mapped (docs/bindings.md has the full table):
 *  - A function returning mos_status returns nothing on success; any other status
 *    becomes org.libmos.MosException (Java) or a Go error. The message is read by
 *    mos_last_error() inside the same native call, on the same thread, before the
 *    wrapper returns (the "out" typemaps below).
 *  - Opaque handles (typedef struct mos_x mos_x) become owning classes through
 *    MOS_HANDLE(type, destroy) of handles.i: Java AutoCloseable, Go DeleteCX (the
 *    hand-written Go layer wraps it in a type with Close()).
 *  - A new header is added with one %include line in serving.i, plus typemaps for
 *    any new kind of argument (arrays, callbacks).
 */
%module mos

%{
#include <stdlib.h>
#include <string.h>
#include "mos/mos.h"
%}

%include <stdint.i>

#if defined(SWIGJAVA)
/* Counts fit in a Java long. */
%apply int64_t { uint64_t };
#endif

/* Names: the "mos_" prefix is dropped (the package/module already says it). */
%rename("%(regex:/^mos_(.*)$/\\1/)s", %$isfunction) "";
%rename(BleuScore) mos_bleu_score;
%rename(Status) mos_status;
%rename(Feature) mos_feature;

/* Thread-local last error: a binding never exposes it, every failure carries its
 * message already. */
%ignore mos_last_error;
%ignore mos_clear_error;
/* Replaced by the struct's constructor (and in Java by its format() method). */
%ignore mos_bleu_score_init;
#if defined(SWIGJAVA)
%ignore mos_bleu_format;
#endif

/* ------------------------------------------------------------------------- */
#if defined(SWIGJAVA)
%include "enums.swg"
/* Constants are read from the library at class load (C literals such as 1u are not Java). */
%javaconst(0);

/* An input status (mos_status_str) stays a typed Java enum ... */
%typemap(jni) mos_status status "jint"
%typemap(jtype) mos_status status "int"
%typemap(jstype) mos_status status "Status"
%typemap(javain) mos_status status "$javainput.swigValue()"
%typemap(in) mos_status status %{ $1 = (mos_status)$input; %}

/* ... a returned status is checked in C and thrown as MosException, with the
 * message read on this thread in this call. */
%{
static void mos_java_throw(JNIEnv *jenv, mos_status st, const char *msg) {
    jclass cls = (*jenv)->FindClass(jenv, "org/libmos/MosException");
    if (!cls) return; /* NoClassDefFoundError is pending */
    jmethodID ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(ILjava/lang/String;)V");
    if (!ctor) return;
    jstring jmsg = (*jenv)->NewStringUTF(jenv, msg ? msg : "");
    if (!jmsg) return;
    jobject ex = (*jenv)->NewObject(jenv, cls, ctor, (jint)st, jmsg);
    if (ex) (*jenv)->Throw(jenv, (jthrowable)ex);
}
%}
%typemap(jni) mos_status "void"
%typemap(jtype) mos_status "void"
%typemap(jstype) mos_status "void"
%typemap(javaout) mos_status { $jnicall; }
%typemap(out) mos_status %{
  if ($1 != MOS_OK) {
    mos_java_throw(jenv, $1, mos_last_error());
    return $null;
  }
%}

/* bleu_corpus: the raw wrapper takes the hypotheses followed by the references
 * in one String[] (so that one typemap covers the three C arguments); the public
 * Mos.bleuCorpus(score, hyps, refs) below checks the two lengths. A null element
 * is passed on as NULL so that the library reports it. */
%{
static const char **mos_java_strings(JNIEnv *jenv, jobjectArray arr, jsize n) {
    const char **v = (const char **)calloc((size_t)n + 1, sizeof *v);
    if (!v) return NULL;
    for (jsize i = 0; i < n; i++) {
        jstring s = (jstring)(*jenv)->GetObjectArrayElement(jenv, arr, i);
        v[i] = s ? (*jenv)->GetStringUTFChars(jenv, s, 0) : NULL;
        if (s) (*jenv)->DeleteLocalRef(jenv, s);
    }
    return v;
}
static void mos_java_release(JNIEnv *jenv, jobjectArray arr, const char **v, jsize n) {
    if (!v) return;
    for (jsize i = 0; i < n; i++) {
        if (!v[i]) continue;
        jstring s = (jstring)(*jenv)->GetObjectArrayElement(jenv, arr, i);
        (*jenv)->ReleaseStringUTFChars(jenv, s, v[i]);
        (*jenv)->DeleteLocalRef(jenv, s);
    }
    free((void *)v);
}
%}
%typemap(jni) (const char *const *hyps, const char *const *refs, size_t n) "jobjectArray"
%typemap(jtype) (const char *const *hyps, const char *const *refs, size_t n) "String[]"
%typemap(jstype) (const char *const *hyps, const char *const *refs, size_t n) "String[]"
%typemap(javain) (const char *const *hyps, const char *const *refs, size_t n) "$javainput"
%typemap(in) (const char *const *hyps, const char *const *refs, size_t n) (jsize total = 0, const char **all = NULL) %{
  total = $input ? (*jenv)->GetArrayLength(jenv, $input) : 0;
  if (total % 2 != 0) {
    mos_java_throw(jenv, MOS_INVALID_ARGUMENT, "bleu_corpus: odd number of lines");
    return $null;
  }
  if ($input) {
    all = mos_java_strings(jenv, $input, total);
    if (!all) {
      mos_java_throw(jenv, MOS_OUT_OF_MEMORY, "bleu_corpus: out of memory copying lines");
      return $null;
    }
  }
  $1 = ($1_ltype)all;
  $2 = ($2_ltype)(all ? all + total / 2 : NULL);
  $3 = (size_t)(total / 2);
%}
%typemap(freearg) (const char *const *hyps, const char *const *refs, size_t n) %{
  mos_java_release(jenv, $input, all$argnum, total$argnum);
%}
%javamethodmodifiers mos_bleu_corpus "private";
%pragma(java) modulecode=%{
  /** Corpus BLEU of hyps against refs (line i against line i), into score. */
  public static void bleuCorpus(BleuScore score, String[] hyps, String[] refs) {
    if (hyps == null || refs == null)
      throw new MosException(Status.MOS_INVALID_ARGUMENT, "bleuCorpus: hyps and refs must not be null");
    if (hyps.length != refs.length)
      throw new MosException(Status.MOS_INVALID_ARGUMENT, "bleuCorpus: " + hyps.length
          + " hypotheses but " + refs.length + " references");
    String[] all = new String[hyps.length + refs.length];
    System.arraycopy(hyps, 0, all, 0, hyps.length);
    System.arraycopy(refs, 0, all, hyps.length, refs.length);
    bleu_corpus(score, all);
  }
%}

/* sacreBLEU's score line in a malloc'd string (size asked first). */
%{
static mos_status mos_bleu_score_formatted(const mos_bleu_score *s, char **line) {
    size_t needed = 0;
    *line = NULL;
    mos_status st = mos_bleu_format(NULL, 0, &needed, s);
    if (st != MOS_OK && st != MOS_OUT_OF_RANGE) return st;
    char *buf = (char *)malloc(needed ? needed : 1);
    if (!buf) return MOS_OUT_OF_MEMORY;
    st = mos_bleu_format(buf, needed, NULL, s);
    if (st != MOS_OK) { free(buf); return st; }
    *line = buf;
    return MOS_OK;
}
%}

/* Methods added with %extend report failures through a thread-local pending
 * status that the %exception block below checks right after the call, in the
 * same JNI call; the message is the binding's own or else mos_last_error(). */
%define MOS_JAVA_PENDING(METHOD)
%exception METHOD {
  mos_swig_pending = MOS_OK;
  mos_swig_pending_msg = NULL;
  $action
  if (mos_swig_pending != MOS_OK) {
    mos_java_throw(jenv, mos_swig_pending, mos_swig_pending_msg ? mos_swig_pending_msg : mos_last_error());
    return $null;
  }
}
%enddef
MOS_JAVA_PENDING(mos_bleu_score::format)
MOS_JAVA_PENDING(mos_bleu_score::precision)
MOS_JAVA_PENDING(mos_bleu_score::correct_at)
MOS_JAVA_PENDING(mos_bleu_score::total_at)
%newobject mos_bleu_score::format;
%extend mos_bleu_score {
  /** sacreBLEU's score line, "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = ...)". */
  char *format() {
    char *line = NULL;
    mos_swig_pending = mos_bleu_score_formatted($self, &line);
    return line;
  }
}
#endif

/* ------------------------------------------------------------------------- */
#if defined(SWIGGO)
/* cgo links libmos; callers add -L (and an rpath) through CGO_LDFLAGS. */
%insert(cgo_comment_typedefs) %{
#cgo LDFLAGS: -lmos
%}

/* An input status stays an integer; the hand-written layer gives it a type. */
%typemap(gotype) mos_status status "int"
%typemap(imtype) mos_status status "int"
%typemap(goin) mos_status status "$result = $input"
%typemap(in) mos_status status %{ $1 = (mos_status)$input; %}

/* A returned status comes back as a Go error built from one string
 * "<status>:<message>" allocated in the same C call (empty on success). */
%typemap(gotype) mos_status "error"
%typemap(imtype) mos_status "string"
%typemap(out, fragment="AllocateString") mos_status %{
  if ($1 == MOS_OK) {
    $result = Swig_AllocateString("", 0);
  } else {
    const char *msg_ = mos_last_error();
    size_t len_ = strlen(msg_);
    char *buf_ = (char *)malloc(len_ + 24);
    int head_ = buf_ ? snprintf(buf_, 24, "%d:", (int)$1) : 0;
    if (buf_) memcpy(buf_ + head_, msg_, len_);
    $result = Swig_AllocateString(buf_ ? buf_ : "2:out of memory", buf_ ? (size_t)head_ + len_ : 15);
    free(buf_);
  }
%}
%typemap(goout, fragment="CopyString") mos_status %{
  $result = statusError(swigCopyString($1))
%}

/* String arrays ([]string -> const char *const *). cgo forbids passing Go
 * memory that holds Go pointers, which a []string does, so the generated Go
 * wrapper first copies the strings into one block of C memory (mosCStrings
 * below: a NULL-terminated array of pointers, then the NUL-terminated bytes)
 * and passes its address; the C side counts the strings up to the NULL and frees
 * the block after the call. A Go string holding a NUL byte ends there in C. */
%insert(go_wrapper) %{
// mosCStrings copies ss into one malloc'd block: len(ss)+1 C pointers (the last
// NULL) followed by the strings, each NUL-terminated. It panics if malloc fails,
// as a failed Go allocation would.
func mosCStrings(ss []string) uintptr {
	ptrSize := int(unsafe.Sizeof(uintptr(0)))
	size := (len(ss) + 1) * ptrSize
	for _, s := range ss {
		size += len(s) + 1
	}
	p := Swig_malloc(size)
	if p == 0 {
		panic("libmos: out of memory copying strings for C")
	}
	mem := unsafe.Slice((*byte)(unsafe.Pointer(p)), size)
	ptrs := unsafe.Slice((*uintptr)(unsafe.Pointer(p)), len(ss)+1)
	off := (len(ss) + 1) * ptrSize
	for i, s := range ss {
		ptrs[i] = p + uintptr(off)
		copy(mem[off:], s)
		mem[off+len(s)] = 0
		off += len(s) + 1
	}
	ptrs[len(ss)] = 0
	return p
}
%}
%{
static size_t mos_go_count_strings(const char *const *v) {
    size_t n = 0;
    while (v && v[n]) n++;
    return n;
}
%}

/* bleu_corpus: the raw wrapper takes the hypotheses followed by the references
 * in one []string; the hand-written BleuCorpus(hyps, refs) checks the lengths. */
%typemap(gotype) (const char *const *hyps, const char *const *refs, size_t n) "[]string"
%typemap(imtype) (const char *const *hyps, const char *const *refs, size_t n) "uintptr"
%typemap(goin) (const char *const *hyps, const char *const *refs, size_t n) %{
  $result = mosCStrings($input)
%}
%typemap(in) (const char *const *hyps, const char *const *refs, size_t n) (size_t total = 0) %{
  total = mos_go_count_strings((const char *const *)$input);
  total -= total % 2;
  $1 = ($1_ltype)$input;
  $2 = ($2_ltype)$input + total / 2;
  $3 = total / 2;
%}
%typemap(freearg) (const char *const *hyps, const char *const *refs, size_t n) %{
  free((void *)$1);
%}
%ignore mos_bleu_score::format;

/* The (buf, cap, needed) convention of text results (mos_bleu_format,
 * mos_space_to_json, ...): the caller's []byte is the buffer (nil -> NULL, 0)
 * and needed is a *int (nil -> NULL). The Go layer asks for the size with a nil
 * buffer, then passes a buffer of that size. */
%typemap(gotype) (char *buf, size_t cap) "[]byte"
%typemap(in) (char *buf, size_t cap) %{
  $1 = ($1_ltype)$input.array;
  $2 = (size_t)$input.len;
%}
%typemap(gotype) size_t *needed "*int"
%typemap(in) size_t *needed %{ $1 = ($1_ltype)$input; %}
/* A Go int is a size_t here (-intgosize 64 on a 64-bit target), and a
 * SwigcptrX (uintptr) a C pointer: C writes both through Go pointers. */
%{
typedef char mos_go_sizes_match[sizeof(size_t) == sizeof(intgo) && sizeof(void *) == sizeof(uintptr_t) ? 1 : -1];
%}
#endif

/* ------------------------------------------------------------------------- */
%include "handles.i"

/* Whatever the C API says about versions of the options structs applies here:
 * the constructor of a versioned struct fills in its current version. */
#if defined(SWIGJAVA)
%typemap(javainterfaces) struct mos_bleu_score "AutoCloseable"
%typemap(javacode) struct mos_bleu_score %{
  /** Frees the native struct; later calls do nothing. */
  @Override
  public void close() { delete(); }
%}
#endif
%extend mos_bleu_score {
  mos_bleu_score() {
    mos_bleu_score *s = (mos_bleu_score *)calloc(1, sizeof *s);
    if (s) mos_bleu_score_init(s);
    return s;
  }
  ~mos_bleu_score() { free($self); }
}


/* Fixed-size arrays of mos_bleu_score are read one order (1..4) at a time. */
%{
static __thread mos_status mos_swig_pending = MOS_OK;
static __thread const char *mos_swig_pending_msg = NULL;
static int mos_swig_order(int order) {
    if (order >= 1 && order <= 4) return 1;
    mos_swig_pending = MOS_OUT_OF_RANGE;
    mos_swig_pending_msg = "BleuScore: n-gram order must be 1..4";
    return 0;
}
%}
%ignore mos_bleu_score::precisions;
%ignore mos_bleu_score::correct;
%ignore mos_bleu_score::total;
%extend mos_bleu_score {
  /* n-gram precision in percent, order 1..4 */
  double precision(int order) { return mos_swig_order(order) ? $self->precisions[order - 1] : 0.0; }
  /* clipped n-gram matches, order 1..4 */
  uint64_t correct_at(int order) { return mos_swig_order(order) ? $self->correct[order - 1] : 0u; }
  /* hypothesis n-grams, order 1..4 */
  uint64_t total_at(int order) { return mos_swig_order(order) ? $self->total[order - 1] : 0u; }
}
#if defined(SWIGGO)
/* Setters of the same arrays, for Bleu.Format (an order outside 1..4 is ignored). */
%extend mos_bleu_score {
  void set_precision(int order, double v) { if (mos_swig_order(order)) $self->precisions[order - 1] = v; }
  void set_correct_at(int order, uint64_t v) { if (mos_swig_order(order)) $self->correct[order - 1] = v; }
  void set_total_at(int order, uint64_t v) { if (mos_swig_order(order)) $self->total[order - 1] = v; }
}
#endif

/* ------------------------------------------------------------------------- */
%include "mos/export.h"
%include "mos/base.h"
%include "mos/bleu.h"

/* The serving flow (spaces to translation), for both languages. */
%include "serving.i"
