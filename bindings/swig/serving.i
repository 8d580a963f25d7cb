/* bindings/swig/serving.i: the serving flow of libmos (spaces, archs, supernets,
 * routing, models and translation, search, latency, training) for Java and Go,
 * included at the end of mos.i. One file, in this order:
 *
 *  1. the names of the handle and options classes in each language;
 *  2. Java: C support code, argument typemaps and the pending-status %exception;
 *     Go: argument typemaps (output pointers, buffers, slices);
 *  3. MOS_HANDLE (handles.i) for every handle type, shared;
 *  4. Java: the methods of the handle classes (%extend) and the two raw
 *     functions behind Mos.search / Mos.train;
 *  5. the options structs, shared: a constructor filling in the library's
 *     defaults (the _options_init functions) and owned strings;
 *  6. the serving headers themselves, with every function ignored except the
 *     list wrapped for Go (Java reaches the library through step 4).
 *
 * Errors. Java: a failed call stores its status in mos_swig_pending and the
 * %exception block throws MosException with mos_last_error() in the same JNI
 * call. Go: each listed C function returns its mos_status, which the "out"
 * typemap of mos.i turns into "<status>:<message>" with mos_last_error() read in
 * the same C call, and the generated Go function into an error.
 *
 * Handles: a closed Java handle reaches C as NULL and the library rejects it
 * (MOS_INVALID_ARGUMENT); in Go the idiomatic layer (bindings/go/serving.go)
 * refuses a closed handle before calling C. */

/* ------------------------------------------------------------------------- */
/* 1. Names. Java's handle classes are the public API; in Go the SWIG classes
 * are named C<Name> and the hand-written types of serving.go (Space, Arch, ...)
 * own them. The options structs are CSearchOptions / CTrainOptions in both
 * (package-private in Java, where SearchOptions / TrainOptions read their
 * defaults from them). */
#if defined(SWIGJAVA)
%rename(Space) mos_space;
%rename(Arch) mos_arch;
%rename(Supernet) mos_supernet;
%rename(Model) mos_model;
%rename(Texts) mos_texts;
%rename(SearchResult) mos_search_result;
%rename(Translations) mos_translations;
%rename(CTranslateOptions) mos_translate_options;
#elif defined(SWIGGO)
%rename(CSpace) mos_space;
%rename(CArch) mos_arch;
%rename(CSupernet) mos_supernet;
%rename(CModel) mos_model;
%rename(CTexts) mos_texts;
%rename(CSearchResult) mos_search_result;
%rename(CSupernetOptions) mos_supernet_options;
%rename(CTranslateOptions) mos_translate_options;
%rename(CLatencyOptions) mos_latency_options;
%rename(CLatencyResult) mos_latency_result;
%rename(CRouteOptions) mos_route_options;
%rename(CConvertOptions) mos_convert_options;
%rename(CTranslations) mos_translations;
#endif
%rename(CSearchOptions) mos_search_options;
%rename(CTrainOptions) mos_train_options;

/* ------------------------------------------------------------------------- */
/* 2. Java: C support code and typemaps of the handle methods. */
#if defined(SWIGJAVA)
%{
#define MOSJ_CALL(expr) do { mos_status st_ = (expr); if (st_ != MOS_OK) mos_swig_pending = st_; } while (0)
/* A string read through the (buf, cap, needed) convention, malloc'd. */
typedef mos_status (*mosj_text_fn)(char *buf, size_t cap, size_t *needed, const void *obj);
static char *mosj_text(const void *obj, mosj_text_fn f) {
    size_t needed = 0;
    mos_status st = f(NULL, 0, &needed, obj);
    if (st != MOS_OK && st != MOS_OUT_OF_RANGE) { mos_swig_pending = st; return NULL; }
    char *buf = (char *)malloc(needed ? needed : 1);
    if (!buf) { mos_swig_pending = MOS_OUT_OF_MEMORY; mos_swig_pending_msg = "out of memory"; return NULL; }
    st = f(buf, needed ? needed : 1, NULL, obj);
    if (st != MOS_OK) { free(buf); mos_swig_pending = st; return NULL; }
    return buf;
}
static mos_status mosj_space_json(char *b, size_t c, size_t *n, const void *o) { return mos_space_to_json(b, c, n, (const mos_space *)o); }
static mos_status mosj_space_name(char *b, size_t c, size_t *n, const void *o) { return mos_space_name(b, c, n, (const mos_space *)o); }
static mos_status mosj_arch_json(char *b, size_t c, size_t *n, const void *o) { return mos_arch_to_json(b, c, n, (const mos_arch *)o); }
static mos_status mosj_result_json(char *b, size_t c, size_t *n, const void *o) { return mos_search_result_to_json(b, c, n, (const mos_search_result *)o); }
/* Token ids returned to Java as int[]. */
typedef struct mosj_ids { int32_t *v; size_t n; } mosj_ids;
%}

%exception {
  mos_swig_pending = MOS_OK;
  mos_swig_pending_msg = NULL;
  $action
  if (mos_swig_pending != MOS_OK) {
    mos_java_throw(jenv, mos_swig_pending, mos_swig_pending_msg ? mos_swig_pending_msg : mos_last_error());
    return $null;
  }
}

/* String[] -> const char *const *, n (a null element reaches C as NULL). */
%typemap(jni) (const char *const *src, size_t n) "jobjectArray"
%typemap(jtype) (const char *const *src, size_t n) "String[]"
%typemap(jstype) (const char *const *src, size_t n) "String[]"
%typemap(javain) (const char *const *src, size_t n) "$javainput"
%typemap(in) (const char *const *src, size_t n) (jsize total = 0, const char **all = NULL) %{
  total = $input ? (*jenv)->GetArrayLength(jenv, $input) : 0;
  if ($input) {
    all = mos_java_strings(jenv, $input, total);
    if (!all) {
      mos_java_throw(jenv, MOS_OUT_OF_MEMORY, "translate: out of memory copying sentences");
      return $null;
    }
  }
  $1 = ($1_ltype)all;
  $2 = (size_t)total;
%}
%typemap(freearg) (const char *const *src, size_t n) %{
  mos_java_release(jenv, $input, all$argnum, total$argnum);
%}

/* int[] -> const int32_t *ids, size_t n; mosj_ids -> int[]. */
%typemap(jni) (const int32_t *ids, size_t n) "jintArray"
%typemap(jtype) (const int32_t *ids, size_t n) "int[]"
%typemap(jstype) (const int32_t *ids, size_t n) "int[]"
%typemap(javain) (const int32_t *ids, size_t n) "$javainput"
%typemap(in) (const int32_t *ids, size_t n) (jint *elems = NULL) %{
  if (!$input) { mos_java_throw(jenv, MOS_INVALID_ARGUMENT, "translateIds: ids must not be null"); return $null; }
  elems = (*jenv)->GetIntArrayElements(jenv, $input, 0);
  $1 = ($1_ltype)elems;
  $2 = (size_t)(*jenv)->GetArrayLength(jenv, $input);
%}
%typemap(freearg) (const int32_t *ids, size_t n) %{
  if (elems$argnum) (*jenv)->ReleaseIntArrayElements(jenv, $input, elems$argnum, JNI_ABORT);
%}
%typemap(jni) mosj_ids "jintArray"
%typemap(jtype) mosj_ids "int[]"
%typemap(jstype) mosj_ids "int[]"
%typemap(javaout) mosj_ids { return $jnicall; }
%typemap(out) mosj_ids %{
  $result = (*jenv)->NewIntArray(jenv, (jsize)$1.n);
  if ($result && $1.n) (*jenv)->SetIntArrayRegion(jenv, $result, 0, (jsize)$1.n, (const jint *)$1.v);
  free($1.v);
%}
%typemap(jni) const double *budgets_ms "jdoubleArray"
%typemap(jtype) const double *budgets_ms "double[]"
%typemap(jstype) const double *budgets_ms "double[]"
%typemap(javain) const double *budgets_ms "$javainput"
%typemap(in) const double *budgets_ms (jdouble *delems = NULL) %{
  delems = $input ? (*jenv)->GetDoubleArrayElements(jenv, $input, 0) : NULL;
  $1 = ($1_ltype)delems;
%}
%typemap(freearg) const double *budgets_ms %{
  if (delems$argnum) (*jenv)->ReleaseDoubleArrayElements(jenv, $input, delems$argnum, JNI_ABORT);
%}

/* Methods are j_name in C (SWIG names the C helper TYPE_method, which would
 * clash with the library's own functions) and name in Java. */
%rename("%(strip:[j_])s", %$ismember) "";
#endif

/* ------------------------------------------------------------------------- */
/* 2. Go: typemaps of the serving functions. The generic ones (a mos_status
 * returned as error, (char *buf, size_t cap) as []byte, size_t *needed as *int,
 * the copy of string arrays to C memory) are in mos.i. */
#if defined(SWIGGO)
/* mos_x **out: the Go caller passes a *SwigcptrCX (a uintptr the size of a C
 * pointer, so cgo lets C write it), and the library stores its pointer there
 * (NULL on failure). A nil Go pointer reaches C as NULL and the library
 * rejects it. */
%define MOS_GO_OUT(TYPE, GONAME)
%typemap(gotype) TYPE **out %{*Swigcptr##GONAME%}
%typemap(in) TYPE **out %{ $1 = ($1_ltype)$input; %}
%enddef
MOS_GO_OUT(mos_space, CSpace)
MOS_GO_OUT(mos_arch, CArch)
MOS_GO_OUT(mos_supernet, CSupernet)
MOS_GO_OUT(mos_model, CModel)
MOS_GO_OUT(mos_texts, CTexts)
MOS_GO_OUT(mos_search_result, CSearchResult)
MOS_GO_OUT(mos_translations, CTranslations)

/* The scores of mos_translations_score: Go *float32 (nil -> NULL). */
%typemap(gotype) float *score, float *logprob "*float32"
%typemap(in) float *score, float *logprob %{ $1 = ($1_ltype)$input; %}

/* Scalar outputs: a Go pointer to the same type (nil -> NULL) that C writes. */
%typemap(gotype) uint64_t *out "*uint64"
%typemap(gotype) double *fitness, double *latency_ms "*float64"
%typemap(gotype) size_t *len "*int"
%typemap(in) uint64_t *out, double *fitness, double *latency_ms, size_t *len %{ $1 = ($1_ltype)$input; %}

/* JSON text of known length: a Go string, read in place (the library copies
 * it during the call). "" is passed as an empty, non-NULL text. */
%typemap(gotype) (const char *json, size_t len) "string"
%typemap(in) (const char *json, size_t len) %{
  $1 = $input.n ? ($1_ltype)$input.p : "";
  $2 = (size_t)$input.n;
%}

/* The sentences of mos_model_translate: []string, copied into one block of C
 * memory by the Go wrapper (mosCStrings of mos.i) and freed after the call. */
%typemap(gotype) (const char *const *src, size_t n) "[]string"
%typemap(imtype) (const char *const *src, size_t n) "uintptr"
%typemap(goin) (const char *const *src, size_t n) %{
  $result = mosCStrings($input)
%}
%typemap(in) (const char *const *src, size_t n) %{
  $1 = ($1_ltype)$input;
  $2 = mos_go_count_strings((const char *const *)$input);
%}
%typemap(freearg) (const char *const *src, size_t n) %{
  free((void *)$1);
%}

/* Token ids in and out of mos_model_translate_ids: []int32 read and written
 * in place. An empty input is passed as a non-NULL empty array. */
%{
static const int32_t mos_go_no_ids[1] = {0};
%}
%typemap(gotype) (const int32_t *src, size_t n) "[]int32"
%typemap(in) (const int32_t *src, size_t n) %{
  $1 = $input.len ? ($1_ltype)$input.array : ($1_ltype)mos_go_no_ids;
  $2 = (size_t)$input.len;
%}
%typemap(gotype) (int32_t *out, size_t cap) "[]int32"
%typemap(in) (int32_t *out, size_t cap) %{
  $1 = ($1_ltype)$input.array;
  $2 = (size_t)$input.len;
%}

/* Progress callbacks are not offered in Go (calls block until done). */
%typemap(in, numinputs=0) (mos_progress_fn progress, void *user),
                          (mos_train_progress_fn progress, void *user) %{
  $1 = NULL;
  $2 = NULL;
%}
#endif

/* ------------------------------------------------------------------------- */
/* 3. The handle types (handles.i): Java AutoCloseable classes, Go DeleteCX. */
MOS_HANDLE(mos_space, mos_space_destroy)
MOS_HANDLE(mos_arch, mos_arch_destroy)
MOS_HANDLE(mos_supernet, mos_supernet_destroy)
MOS_HANDLE(mos_model, mos_model_destroy)
MOS_HANDLE(mos_texts, mos_texts_destroy)
MOS_HANDLE(mos_search_result, mos_search_result_destroy)
MOS_HANDLE(mos_translations, mos_translations_destroy)

/* ------------------------------------------------------------------------- */
/* 4. Java: the methods of the handle classes. */
#if defined(SWIGJAVA)
%newobject mos_space::j_preset;
%newobject mos_space::j_fromJson;
%newobject mos_space::j_toJson;
%newobject mos_space::j_name;
%extend mos_space {
  /** A built-in preset ("hat-wmt", "small"). */
  static mos_space *j_preset(const char *name) { mos_space *s = NULL; MOSJ_CALL(mos_space_create_preset(&s, name)); return s; }
  /** Parses a space from JSON text. */
  static mos_space *j_fromJson(const char *json) {
    mos_space *s = NULL;
    MOSJ_CALL(mos_space_create_json(&s, json, json ? strlen(json) : 0));
    return s;
  }
  /** The canonical JSON of the space. */
  char *j_toJson() { return mosj_text($self, mosj_space_json); }
  char *j_name() { return mosj_text($self, mosj_space_name); }
}

%newobject mos_arch::j_largest;
%newobject mos_arch::j_smallest;
%newobject mos_arch::j_sample;
%newobject mos_arch::j_fromJson;
%newobject mos_arch::j_toJson;
%newobject mos_arch::j_space;
%extend mos_arch {
  static mos_arch *j_largest(const mos_space *space) { mos_arch *a = NULL; MOSJ_CALL(mos_arch_create_largest(&a, space)); return a; }
  static mos_arch *j_smallest(const mos_space *space) { mos_arch *a = NULL; MOSJ_CALL(mos_arch_create_smallest(&a, space)); return a; }
  /** Every dimension drawn uniformly; the same seed gives the same arch. */
  static mos_arch *j_sample(const mos_space *space, uint64_t seed) { mos_arch *a = NULL; MOSJ_CALL(mos_arch_sample(&a, space, seed)); return a; }
  static mos_arch *j_fromJson(const mos_space *space, const char *json) {
    mos_arch *a = NULL;
    MOSJ_CALL(mos_arch_create_json(&a, space, json, json ? strlen(json) : 0));
    return a;
  }
  char *j_toJson() { return mosj_text($self, mosj_arch_json); }
  mos_space *j_space() { mos_space *s = NULL; MOSJ_CALL(mos_arch_space(&s, $self)); return s; }
  /** Parameters of the routed dense model for a vocabulary of vocab. */
  uint64_t j_params(uint64_t vocab) { uint64_t n = 0; MOSJ_CALL(mos_arch_params(&n, $self, vocab)); return n; }
  /** Throws MOS_OUT_OF_RANGE unless the arch is a point of space. */
  void j_validate(const mos_space *space) { MOSJ_CALL(mos_arch_validate($self, space)); }
}

%newobject mos_supernet::j_load;
%newobject mos_supernet::j_loadBuiltin;
%newobject mos_supernet::j_space;
%newobject mos_supernet::j_route;
%newobject mos_supernet::j_create;
%extend mos_supernet {
  /** A new supernet with fresh weights: routing 0 none / 1 layer / 2 neuron. */
  static mos_supernet *j_create(const mos_space *space, int routing, uint32_t experts, uint32_t vocab_size, uint64_t seed) {
    mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT;
    o.routing = (mos_routing)routing;
    o.experts = experts;
    o.vocab_size = vocab_size;
    o.seed = seed;
    mos_supernet *n = NULL;
    MOSJ_CALL(mos_supernet_create(&n, space, &o));
    return n;
  }
  static mos_supernet *j_load(const char *path) { mos_supernet *n = NULL; MOSJ_CALL(mos_supernet_load(&n, path)); return n; }
  /** A built-in supernet that ships with libmos ("" = the default, bible-en-es), its SHA-256 checked (docs/builtin.md). */
  static mos_supernet *j_loadBuiltin(const char *name) { mos_supernet *n = NULL; MOSJ_CALL(mos_supernet_load_builtin(&n, name)); return n; }
  void j_save(const char *path) { MOSJ_CALL(mos_supernet_save($self, path)); }
  mos_space *j_space() { mos_space *s = NULL; MOSJ_CALL(mos_supernet_space(&s, $self)); return s; }
  uint64_t j_numParams() { if (!$self) mos_swig_pending = MOS_INVALID_ARGUMENT, mos_swig_pending_msg = "Supernet.numParams: closed supernet"; return mos_supernet_num_params($self); }
  /** The routing mode of the supernet's options (0 none, 1 layer, 2 neuron). */
  int j_routing() { mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT; MOSJ_CALL(mos_supernet_get_options(&o, $self)); return (int)o.routing; }
  /** The number of experts per MoS linear. */
  uint32_t j_experts() { mos_supernet_options o = MOS_SUPERNET_OPTIONS_INIT; MOSJ_CALL(mos_supernet_get_options(&o, $self)); return o.experts; }
  bool j_hasTokenizer() { return mos_supernet_has_tokenizer($self); }
  /** Specialises subnet arch into a standalone dense model (mos_route) on all cores. */
  mos_model *j_route(const mos_arch *arch) { mos_model *m = NULL; MOSJ_CALL(mos_route(&m, $self, arch, NULL)); return m; }
  /** As route(arch), on `threads` threads (0 = all cores) for this call only. */
  mos_model *j_route(const mos_arch *arch, int32_t threads) {
    mos_route_options o = MOS_ROUTE_OPTIONS_INIT;
    o.threads = threads;
    mos_model *m = NULL;
    MOSJ_CALL(mos_route(&m, $self, arch, &o));
    return m;
  }
  /** As route(arch, threads), into a model of precision dtype (DType.F32, BF16, INT8). */
  mos_model *j_route(const mos_arch *arch, int32_t threads, int dtype) {
    mos_route_options o = MOS_ROUTE_OPTIONS_INIT;
    o.threads = threads;
    o.dtype = (mos_dtype)dtype;
    mos_model *m = NULL;
    MOSJ_CALL(mos_route(&m, $self, arch, &o));
    return m;
  }
}

%newobject mos_model::j_load;
%newobject mos_model::j_arch;
%newobject mos_model::j_translateTexts;
%newobject mos_model::j_translateBatchRaw;
%newobject mos_model::j_convert;
%newobject mos_model::j_meta;
%javamethodmodifiers mos_model::j_translateTexts "private";
%javamethodmodifiers mos_model::j_translateBatchRaw "private";
%javamethodmodifiers mos_model::j_translateIdsWith "private";
%extend mos_model {
  static mos_model *j_load(const char *path) { mos_model *m = NULL; MOSJ_CALL(mos_model_load(&m, path)); return m; }
  void j_save(const char *path) { MOSJ_CALL(mos_model_save($self, path)); }
  mos_arch *j_arch() { mos_arch *a = NULL; MOSJ_CALL(mos_model_arch(&a, $self)); return a; }
  uint64_t j_numParams() { if (!$self) mos_swig_pending = MOS_INVALID_ARGUMENT, mos_swig_pending_msg = "Model.numParams: closed model"; return mos_model_num_params($self); }
  uint32_t j_vocabSize() { return mos_model_vocab_size($self); }
  mos_texts *j_translateTexts(const char *const *src, size_t n, uint32_t beam, int32_t threads) {
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.beam = beam;
    o.threads = threads;
    mos_texts *t = NULL;
    MOSJ_CALL(mos_model_translate(&t, $self, src, n, &o));
    return t;
  }
  /** Translates one sentence of token ids (without EOS) into token ids. */
  mosj_ids j_translateIdsWith(const int32_t *ids, size_t n, uint32_t beam, int32_t threads) {
    mos_translate_options o = MOS_TRANSLATE_OPTIONS_INIT;
    o.beam = beam;
    o.threads = threads;
    mosj_ids r = {NULL, 0};
    size_t need = 0;
    mos_status st = mos_model_translate_ids(NULL, 0, &need, $self, ids, n, &o);
    if (st != MOS_OK && st != MOS_OUT_OF_RANGE) { mos_swig_pending = st; return r; }
    r.v = (int32_t *)malloc((need ? need : 1) * sizeof *r.v);
    if (!r.v) { mos_swig_pending = MOS_OUT_OF_MEMORY; mos_swig_pending_msg = "out of memory"; return r; }
    st = mos_model_translate_ids(r.v, need, &r.n, $self, ids, n, &o);
    if (st != MOS_OK) { mos_swig_pending = st; free(r.v); r.v = NULL; r.n = 0; }
    return r;
  }
  mos_translations *j_translateBatchRaw(const char *const *src, size_t n, const mos_translate_options *o) {
    mos_translations *t = NULL;
    MOSJ_CALL(mos_model_translate_batch(&t, $self, src, n, o));
    return t;
  }
  /** A new model: this one at precision dtype (DType.F32, BF16, INT8; mos_model_convert). */
  mos_model *j_convert(int dtype) {
    mos_convert_options o = MOS_CONVERT_OPTIONS_INIT;
    o.dtype = (mos_dtype)dtype;
    mos_model *m = NULL;
    MOSJ_CALL(mos_model_convert(&m, $self, &o));
    return m;
  }
  /** String metadata ("dtype", "compute_dtype", "warning", "src_lang", ...); "" when absent. */
  char *j_meta(const char *key) {
    size_t needed = 0;
    mos_status st = mos_model_get_meta(NULL, 0, &needed, $self, key);
    if (st != MOS_OK && st != MOS_OUT_OF_RANGE) { mos_swig_pending = st; return NULL; }
    char *buf = (char *)malloc(needed ? needed : 1);
    if (!buf) { mos_swig_pending = MOS_OUT_OF_MEMORY; mos_swig_pending_msg = "out of memory"; return NULL; }
    st = mos_model_get_meta(buf, needed ? needed : 1, NULL, $self, key);
    if (st != MOS_OK) { free(buf); mos_swig_pending = st; return NULL; }
    return buf;
  }
  /** Mean latency in ms of HAT's protocol with these settings (mos_latency_measure). */
  double j_latencyMs(uint32_t src_len, uint32_t steps, uint32_t beam, uint32_t warmup, uint32_t runs) {
    mos_latency_options o = MOS_LATENCY_OPTIONS_INIT;
    o.src_len = src_len; o.steps = steps; o.beam = beam; o.warmup = warmup; o.runs = runs;
    mos_latency_result r = MOS_LATENCY_RESULT_INIT;
    MOSJ_CALL(mos_latency_measure(&r, $self, &o));
    return r.mean_ms;
  }
  %proxycode %{
  /** Translates a batch of sentences with beam width beam (1 = greedy) on all
   *  cores; safe from many threads on one model. */
  public String[] translate(String[] sentences, int beam) {
    return translate(sentences, beam, 0);
  }
  /** As translate(sentences, beam), on `threads` threads for this call only
   *  (0 = all cores). A service translating from many threads passes 1
   *  (docs/threading.md). */
  public String[] translate(String[] sentences, int beam, int threads) {
    if (sentences == null)
      throw new MosException(Status.MOS_INVALID_ARGUMENT, "Model.translate: sentences must not be null");
    try (Texts t = translateTexts(sentences, beam, threads)) {
      String[] out = new String[(int) t.count()];
      for (int i = 0; i < out.length; i++) out[i] = t.get(i);
      return out;
    }
  }
  /** Translates a batch of sentences with options o (batch limits, n-best,
   *  threads; docs/serving.md): for each sentence, in input order, its
   *  o.nbest best hypotheses with scores. Close the result. Safe from many
   *  threads on one model. */
  public Translations translateBatch(String[] sentences, TranslateOptions o) {
    if (sentences == null || o == null)
      throw new MosException(Status.MOS_INVALID_ARGUMENT, "Model.translateBatch: sentences and options must not be null");
    CTranslateOptions c = o.toNative();
    try {
      return translateBatchRaw(sentences, c);
    } finally {
      c.delete();
    }
  }
  /** The model's precision: "f32", "bf16" or "int8". */
  public String dtype() { return meta("dtype"); }
  /** What the model computes in on this CPU (differs from dtype() where the CPU lacks the instructions). */
  public String computeDtype() { return meta("compute_dtype"); }
  /** Translates one sentence of token ids (without EOS) into token ids, on all cores. */
  public int[] translateIds(int[] ids, int beam) {
    return translateIdsWith(ids, beam, 0);
  }
  /** As translateIds(ids, beam), on `threads` threads for this call only (0 = all cores). */
  public int[] translateIds(int[] ids, int beam, int threads) {
    return translateIdsWith(ids, beam, threads);
  }
  %}
}

%extend mos_translations {
  /** Number of sentences. */
  size_t j_count() { return mos_translations_count($self); }
  /** Number of hypotheses of sentence i (1..nbest). */
  size_t j_nbest(size_t i) {
    MOSJ_CALL(mos_translations_score(NULL, NULL, $self, i, 0)); /* checks the handle and i */
    return mos_swig_pending == MOS_OK ? mos_translations_nbest($self, i) : 0;
  }
  /** Hypothesis k of sentence i; k = 0 is the best. */
  const char *j_text(size_t i, size_t k) {
    MOSJ_CALL(mos_translations_score(NULL, NULL, $self, i, k));
    return mos_swig_pending == MOS_OK ? mos_translations_text($self, i, k) : NULL;
  }
  /** Target tokens of hypothesis k of sentence i, without EOS. */
  size_t j_numTokens(size_t i, size_t k) {
    MOSJ_CALL(mos_translations_score(NULL, NULL, $self, i, k));
    return mos_swig_pending == MOS_OK ? mos_translations_num_tokens($self, i, k) : 0;
  }
  /** The beam's length-penalised score, logprob / (tokens + 1)^length_penalty. */
  float j_score(size_t i, size_t k) { float s = 0; MOSJ_CALL(mos_translations_score(&s, NULL, $self, i, k)); return s; }
  /** The sum of the natural-log probabilities of the tokens and EOS. */
  float j_logprob(size_t i, size_t k) { float l = 0; MOSJ_CALL(mos_translations_score(NULL, &l, $self, i, k)); return l; }
}

%extend mos_texts {
  size_t j_count() { return mos_texts_count($self); }
  const char *j_get(size_t i) { return mos_texts_get($self, i); }
}

%newobject mos_search_result::j_arch;
%newobject mos_search_result::j_toJson;
%extend mos_search_result {
  size_t j_count() { return mos_search_result_count($self); }
  mos_arch *j_arch(size_t i) { mos_arch *a = NULL; MOSJ_CALL(mos_search_result_arch(&a, $self, i)); return a; }
  /** Validation loss of the best arch for budget i. */
  double j_fitness(size_t i) { double f = 0, l = 0; MOSJ_CALL(mos_search_result_scores(&f, &l, $self, i)); return f; }
  /** Latency (ms) of the best arch for budget i. */
  double j_latencyMs(size_t i) { double f = 0, l = 0; MOSJ_CALL(mos_search_result_scores(&f, &l, $self, i)); return l; }
  char *j_toJson() { return mosj_text($self, mosj_result_json); }
}

/* train_raw: the JNIEnv of the call and an optional TrainListener. */
%typemap(in, numinputs=0) JNIEnv *env_ %{ $1 = jenv; %}
%typemap(jni) jobject listener "jobject"
%typemap(jtype) jobject listener "TrainListener"
%typemap(jstype) jobject listener "TrainListener"
%typemap(javain) jobject listener "$javainput"
%typemap(in) jobject listener %{ $1 = $input; %}
%{
/* Progress of mos_train forwarded to TrainListener.onProgress on the calling
 * thread; false or a Java exception stops training. */
typedef struct mosj_listener { JNIEnv *env; jobject obj; jmethodID method; } mosj_listener;
static int mosj_train_progress(const mos_train_progress *p, void *user) {
    mosj_listener *l = (mosj_listener *)user;
    JNIEnv *env = l->env;
    jstring msg = (*env)->NewStringUTF(env, p->message ? p->message : "");
    if (!msg) return 1;
    jboolean go_on = (*env)->CallBooleanMethod(env, l->obj, l->method, (jint)p->event, (jlong)p->step,
                                               (jlong)p->max_steps, (jdouble)p->loss, (jdouble)p->lr, msg);
    (*env)->DeleteLocalRef(env, msg);
    if ((*env)->ExceptionCheck(env)) return 1;
    return go_on ? 0 : 1;
}
%}

%newobject search_raw;
%newobject train_raw;
%javamethodmodifiers search_raw "";
%javamethodmodifiers train_raw "";
%inline %{
static mos_search_result *search_raw(const mos_supernet *net, const char *data_dir, const char *split,
                                     const char *src_lang, const char *tgt_lang, uint32_t valid_sentences,
                                     const double *budgets_ms, size_t n_budgets, uint64_t max_params,
                                     uint64_t max_flops, const char *predictor_path, bool measure,
                                     uint32_t population, uint32_t parents, uint32_t mutations,
                                     uint32_t crossovers, uint32_t iterations, double mutation_prob,
                                     uint64_t seed, int32_t threads) {
    mos_search_options o = MOS_SEARCH_OPTIONS_INIT;
    if (split) o.split = split;
    o.src_lang = src_lang; o.tgt_lang = tgt_lang; o.valid_sentences = valid_sentences;
    o.budgets_ms = budgets_ms; o.n_budgets = budgets_ms ? n_budgets : 0;
    o.max_params = max_params; o.max_flops = max_flops; o.predictor_path = predictor_path;
    o.measure = measure; o.population = population; o.parents = parents; o.mutations = mutations;
    o.crossovers = crossovers; o.iterations = iterations; o.mutation_prob = mutation_prob; o.seed = seed;
    o.threads = threads;
    mos_search_result *r = NULL;
    MOSJ_CALL(mos_search(&r, net, data_dir, &o, NULL, NULL));
    return r;
}
static mos_supernet *train_raw(const mos_space *space, const char *data_dir, const char *src_lang,
                               const char *tgt_lang, const char *out_path, const char *resume_path,
                               uint32_t vocab_size, uint32_t max_tokens, uint32_t max_len, int64_t max_steps,
                               double max_seconds, uint32_t warmup, float lr, uint32_t valid_every,
                               uint32_t valid_sentences, uint64_t seed, int32_t threads,
                               JNIEnv *env_, jobject listener) {
    mos_train_options o = MOS_TRAIN_OPTIONS_INIT;
    o.data_dir = data_dir; o.src_lang = src_lang; o.tgt_lang = tgt_lang; o.out_path = out_path;
    o.resume_path = resume_path; o.vocab_size = vocab_size; o.max_tokens = max_tokens; o.max_len = max_len;
    o.max_steps = max_steps; o.max_seconds = max_seconds; o.warmup = warmup; o.lr = lr;
    o.valid_every = valid_every; o.valid_sentences = valid_sentences; o.seed = seed; o.threads = threads;
    mos_supernet *n = NULL;
    mosj_listener l = {env_, listener, NULL};
    if (listener) {
        jclass cls = (*env_)->GetObjectClass(env_, listener);
        l.method = cls ? (*env_)->GetMethodID(env_, cls, "onProgress", "(IJJDDLjava/lang/String;)Z") : NULL;
        if (!l.method) return NULL; /* NoSuchMethodError is pending */
    }
    MOSJ_CALL(mos_train(&n, space, NULL, &o, listener ? mosj_train_progress : NULL, listener ? &l : NULL));
    /* An exception thrown by the listener is the one the caller sees. */
    if ((*env_)->ExceptionCheck(env_)) mos_swig_pending = MOS_OK;
    return n;
}
%}

%pragma(java) modulecode=%{
  /** Evolutionary search of net's space on the corpus in dataDir (mos_search). */
  public static SearchResult search(Supernet net, String dataDir, SearchOptions o) {
    if (o == null) throw new MosException(Status.MOS_INVALID_ARGUMENT, "search: options must not be null");
    double[] b = o.budgetsMs;
    return search_raw(net, dataDir, o.split, o.srcLang, o.tgtLang, o.validSentences, b, b == null ? 0 : b.length,
        o.maxParams, o.maxFlops, o.predictorPath, o.measure, o.population, o.parents, o.mutations,
        o.crossovers, o.iterations, o.mutationProb, o.seed, o.threads);
  }
  /** Trains a new supernet for space with the default supernet options (mos_train), blocking. */
  public static Supernet train(Space space, TrainOptions o) {
    return train(space, o, null);
  }
  /** As train(space, o), calling listener (on this thread) for every progress report;
   *  returning false stops training (MosException with MOS_ABORTED). */
  public static Supernet train(Space space, TrainOptions o, TrainListener listener) {
    if (o == null) throw new MosException(Status.MOS_INVALID_ARGUMENT, "train: options must not be null");
    return train_raw(space, o.dataDir, o.srcLang, o.tgtLang, o.outPath, o.resumePath, o.vocabSize, o.maxTokens,
        o.maxLen, o.maxSteps, o.maxSeconds, o.warmup, o.lr, o.validEvery, o.validSentences, o.seed, o.threads,
        listener);
  }
%}

%exception;

/* The JNI library loads itself with the first native call (java.library.path
 * must hold libmosjni.so); an explicit System.loadLibrary("mosjni") is harmless. */
%pragma(java) jniclasscode=%{
  static {
    System.loadLibrary("mosjni");
  }
%}
#endif

/* ------------------------------------------------------------------------- */
/* 5. The options structs. A constructor made by SWIG fills in the library's
 * defaults through the _options_init function, so a binding never repeats a
 * default value. Every string member of such a struct is owned by it: the
 * constructor copies the default strings, a setter frees the old value and
 * copies the new one (NULL stays NULL), the destructor frees them. Structs the
 * library fills (mos_supernet_get_options) get NULL strings back. */
%apply int { mos_routing, mos_sampling, mos_schedule, mos_precision };
%{
static char *mos_swig_strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *c = (char *)malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}
%}
%typemap(memberin) const char * %{
  free((char *)$1);
  $1 = mos_swig_strdup($input);
%}
/* The budgets of mos_search_options are set as a whole (Go: set_budgets). */
%ignore mos_search_options::budgets_ms;
%immutable mos_search_options::n_budgets;
/* An MPI_Comm pointer means nothing to Java or Go: their runs use the
 * default, MPI_COMM_WORLD when MPI is initialized (docs/training.md). */
%ignore mos_train_options::mpi_comm;
%ignore mos_search_options::mpi_comm;

%extend mos_search_options {
  mos_search_options() {
    mos_search_options *o = (mos_search_options *)calloc(1, sizeof *o);
    if (!o) return NULL;
    mos_search_options_init(o);
    o->split = mos_swig_strdup(o->split);
    return o;
  }
  ~mos_search_options() {
    free((char *)$self->split);
    free((char *)$self->src_lang);
    free((char *)$self->tgt_lang);
    free((char *)$self->predictor_path);
    free((double *)$self->budgets_ms);
    free($self);
  }
}
%extend mos_train_options {
  mos_train_options() {
    mos_train_options *o = (mos_train_options *)calloc(1, sizeof *o);
    if (!o) return NULL;
    mos_train_options_init(o);
    o->data_dir = mos_swig_strdup(o->data_dir);
    o->src_lang = mos_swig_strdup(o->src_lang);
    o->tgt_lang = mos_swig_strdup(o->tgt_lang);
    o->out_path = mos_swig_strdup(o->out_path);
    o->resume_path = mos_swig_strdup(o->resume_path);
    return o;
  }
  ~mos_train_options() {
    free((char *)$self->data_dir);
    free((char *)$self->src_lang);
    free((char *)$self->tgt_lang);
    free((char *)$self->out_path);
    free((char *)$self->resume_path);
    free($self);
  }
}
%extend mos_translate_options {
  mos_translate_options() {
    mos_translate_options *o = (mos_translate_options *)calloc(1, sizeof *o);
    if (o) mos_translate_options_init(o);
    return o;
  }
  ~mos_translate_options() { free($self); }
}
#if defined(SWIGJAVA)
/* Read only by SearchOptions / TrainOptions / TranslateOptions, for their
 * initial values (and, for translation, the struct passed to the library). */
%typemap(javaclassmodifiers) struct mos_search_options, mos_search_options, struct mos_train_options,
                              mos_train_options, struct mos_translate_options, mos_translate_options "final class";
#endif

#if defined(SWIGGO)
%extend mos_search_options {
  /* Copies the budgets (ms); an empty slice means none. */
  void set_budgets(const double *budgets, size_t n) {
    double *b = n ? (double *)malloc(n * sizeof *b) : NULL;
    if (n && !b) n = 0;
    if (b) memcpy(b, budgets, n * sizeof *b);
    free((double *)$self->budgets_ms);
    $self->budgets_ms = b;
    $self->n_budgets = n;
  }
}
%typemap(gotype) (const double *budgets, size_t n) "[]float64"
%typemap(in) (const double *budgets, size_t n) %{
  $1 = ($1_ltype)$input.array;
  $2 = (size_t)$input.len;
%}
%extend mos_supernet_options {
  mos_supernet_options() {
    mos_supernet_options *o = (mos_supernet_options *)calloc(1, sizeof *o);
    if (!o) return NULL;
    mos_supernet_options_init(o);
    o->tokenizer_path = mos_swig_strdup(o->tokenizer_path);
    return o;
  }
  ~mos_supernet_options() {
    free((char *)$self->tokenizer_path);
    free($self);
  }
}
%extend mos_latency_options {
  mos_latency_options() {
    mos_latency_options *o = (mos_latency_options *)calloc(1, sizeof *o);
    if (o) mos_latency_options_init(o);
    return o;
  }
  ~mos_latency_options() { free($self); }
}
%extend mos_route_options {
  mos_route_options() {
    mos_route_options *o = (mos_route_options *)calloc(1, sizeof *o);
    if (o) mos_route_options_init(o);
    return o;
  }
  ~mos_route_options() { free($self); }
  /* The enum field as a plain int (the library checks the value). */
  void set_precision(int dtype) { $self->dtype = (mos_dtype)dtype; }
}
%extend mos_convert_options {
  mos_convert_options() {
    mos_convert_options *o = (mos_convert_options *)calloc(1, sizeof *o);
    if (o) mos_convert_options_init(o);
    return o;
  }
  ~mos_convert_options() { free($self); }
  void set_precision(int dtype) { $self->dtype = (mos_dtype)dtype; }
}
/* A result struct the library fills: its constructor sets the version. */
%extend mos_latency_result {
  mos_latency_result() {
    mos_latency_result *r = (mos_latency_result *)calloc(1, sizeof *r);
    if (r) mos_latency_result_init(r);
    return r;
  }
  ~mos_latency_result() { free($self); }
}
#endif

/* ------------------------------------------------------------------------- */
/* 6. The serving headers. Everything they declare is ignored unless named
 * here: the renamed structs above, and for Go the functions below (named
 * without "mos_"; SWIG capitalises them: Space_create_preset, ...). mos_search
 * and mos_train are Search_raw and Train_raw in Go, under the hand-written
 * Search and Train. To wrap another function for Go, add it to the list (and a
 * typemap for any new kind of argument) and call it from serving.go. */
%rename("$ignore", %$isfunction, %$not %$ismember) "";
%rename("$ignore", %$isclass) "";
%rename("$ignore", %$isenum) "";
%rename("$ignore", %$isconstant) "";

#if defined(SWIGGO)
%define MOS_GO_WRAP(NAME)
%rename(NAME) mos_##NAME;
%enddef
MOS_GO_WRAP(space_create_preset)
MOS_GO_WRAP(space_create_json)
MOS_GO_WRAP(space_to_json)
MOS_GO_WRAP(space_name)
MOS_GO_WRAP(arch_create_largest)
MOS_GO_WRAP(arch_create_smallest)
MOS_GO_WRAP(arch_sample)
MOS_GO_WRAP(arch_create_json)
MOS_GO_WRAP(arch_to_json)
MOS_GO_WRAP(arch_params)
MOS_GO_WRAP(supernet_create)
MOS_GO_WRAP(supernet_load)
MOS_GO_WRAP(supernet_load_builtin)
MOS_GO_WRAP(supernet_save)
MOS_GO_WRAP(supernet_get_options)
MOS_GO_WRAP(supernet_space)
MOS_GO_WRAP(supernet_num_params)
MOS_GO_WRAP(supernet_get_meta)
MOS_GO_WRAP(route)
MOS_GO_WRAP(model_load)
MOS_GO_WRAP(model_save)
MOS_GO_WRAP(model_arch)
MOS_GO_WRAP(model_num_params)
MOS_GO_WRAP(model_get_meta)
MOS_GO_WRAP(model_translate)
MOS_GO_WRAP(model_translate_ids)
MOS_GO_WRAP(texts_count)
MOS_GO_WRAP(texts_get)
MOS_GO_WRAP(model_translate_batch)
MOS_GO_WRAP(translations_count)
MOS_GO_WRAP(translations_nbest)
MOS_GO_WRAP(translations_text)
MOS_GO_WRAP(translations_num_tokens)
MOS_GO_WRAP(translations_score)
MOS_GO_WRAP(model_convert)
MOS_GO_WRAP(latency_measure)
MOS_GO_WRAP(search_result_count)
MOS_GO_WRAP(search_result_arch)
MOS_GO_WRAP(search_result_scores)
MOS_GO_WRAP(search_result_to_json)
%rename(search_raw) mos_search;
%rename(train_raw) mos_train;
#endif

%include "mos/space.h"
%include "mos/arch.h"
%include "mos/supernet.h"
%include "mos/model.h"
%include "mos/search.h"
%include "mos/train.h"
