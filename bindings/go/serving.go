// bindings/go/serving.go: the serving flow of libmos in Go (spaces, archs,
// supernets, routing, models and translation, search, latency, training)
// through cgo shims. Each shim makes the libmos call and, on failure, copies
// mos_last_error() in the same C call, so the message belongs to this call
// whatever OS thread the goroutine runs on next (docs/threading.md).
//
// Ownership: every handle type has Close (idempotent); use after Close is an
// error, never a crash. Threading: Space, Arch, Model and SearchResult are
// immutable and may be shared by goroutines; a Supernet may be shared for
// routing, saving and searching (read-only), SetTokenizer needs exclusive use.

package mos

/*
#include <stdlib.h>
#include <string.h>
#include "mos/mos.h"

#define MOS_GO_CALL(expr) do { \
    mos_status st_ = (expr); \
    *msg = st_ == MOS_OK ? NULL : strdup(mos_last_error()); \
    return (int)st_; \
} while (0)

static int go_space_preset(mos_space **o, const char *n, char **msg) { MOS_GO_CALL(mos_space_create_preset(o, n)); }
static int go_space_json(mos_space **o, const char *j, size_t len, char **msg) { MOS_GO_CALL(mos_space_create_json(o, j, len)); }
static int go_space_to_json(const mos_space *s, char *b, size_t c, size_t *n, char **msg) { MOS_GO_CALL(mos_space_to_json(s, b, c, n)); }
static int go_space_name(const mos_space *s, char *b, size_t c, size_t *n, char **msg) { MOS_GO_CALL(mos_space_name(s, b, c, n)); }
static int go_arch_largest(mos_arch **o, const mos_space *s, char **msg) { MOS_GO_CALL(mos_arch_create_largest(o, s)); }
static int go_arch_smallest(mos_arch **o, const mos_space *s, char **msg) { MOS_GO_CALL(mos_arch_create_smallest(o, s)); }
static int go_arch_sample(mos_arch **o, const mos_space *s, uint64_t seed, char **msg) { MOS_GO_CALL(mos_arch_sample(o, s, seed)); }
static int go_arch_json(mos_arch **o, const mos_space *s, const char *j, size_t len, char **msg) { MOS_GO_CALL(mos_arch_create_json(o, s, j, len)); }
static int go_arch_to_json(const mos_arch *a, char *b, size_t c, size_t *n, char **msg) { MOS_GO_CALL(mos_arch_to_json(a, b, c, n)); }
static int go_arch_params(const mos_arch *a, uint64_t v, uint64_t *n, char **msg) { MOS_GO_CALL(mos_arch_params(a, v, n)); }
static int go_supernet_create(mos_supernet **o, const mos_space *s, const mos_supernet_options *opt, char **msg) { MOS_GO_CALL(mos_supernet_create(o, s, opt)); }
static int go_supernet_load(mos_supernet **o, const char *p, char **msg) { MOS_GO_CALL(mos_supernet_load(o, p)); }
static int go_supernet_save(const mos_supernet *s, const char *p, char **msg) { MOS_GO_CALL(mos_supernet_save(s, p)); }
static int go_supernet_options(const mos_supernet *s, mos_supernet_options *o, char **msg) { MOS_GO_CALL(mos_supernet_get_options(s, o)); }
static int go_supernet_space(const mos_supernet *s, mos_space **o, char **msg) { MOS_GO_CALL(mos_supernet_space(s, o)); }
static int go_route(const mos_supernet *s, const mos_arch *a, mos_model **o, char **msg) { MOS_GO_CALL(mos_route(s, a, o)); }
static int go_model_load(mos_model **o, const char *p, char **msg) { MOS_GO_CALL(mos_model_load(o, p)); }
static int go_model_save(const mos_model *m, const char *p, char **msg) { MOS_GO_CALL(mos_model_save(m, p)); }
static int go_model_arch(const mos_model *m, mos_arch **o, char **msg) { MOS_GO_CALL(mos_model_arch(m, o)); }
static int go_translate(const mos_model *m, const char *const *src, size_t n, uint32_t beam, mos_texts **o, char **msg) {
    mos_translate_options opt = MOS_TRANSLATE_OPTIONS_INIT;
    opt.beam = beam;
    MOS_GO_CALL(mos_model_translate(m, src, n, &opt, o));
}
static int go_translate_ids(const mos_model *m, const int32_t *src, size_t n, uint32_t beam, int32_t *out, size_t cap, size_t *len, char **msg) {
    mos_translate_options opt = MOS_TRANSLATE_OPTIONS_INIT;
    opt.beam = beam;
    MOS_GO_CALL(mos_model_translate_ids(m, src, n, &opt, out, cap, len));
}
static int go_latency(const mos_model *m, const mos_latency_options *o, mos_latency_result *r, char **msg) { MOS_GO_CALL(mos_latency_measure(m, o, r)); }
static int go_search(const mos_supernet *s, const char *dir, const mos_search_options *o, mos_search_result **r, char **msg) { MOS_GO_CALL(mos_search(s, dir, o, r, NULL, NULL)); }
static int go_result_arch(const mos_search_result *r, size_t i, mos_arch **o, char **msg) { MOS_GO_CALL(mos_search_result_arch(r, i, o)); }
static int go_result_scores(const mos_search_result *r, size_t i, double *f, double *l, char **msg) { MOS_GO_CALL(mos_search_result_scores(r, i, f, l)); }
static int go_result_to_json(const mos_search_result *r, char *b, size_t c, size_t *n, char **msg) { MOS_GO_CALL(mos_search_result_to_json(r, b, c, n)); }
static int go_train(mos_supernet **o, const mos_space *s, const mos_supernet_options *no, const mos_train_options *to, char **msg) { MOS_GO_CALL(mos_train(o, s, no, to, NULL, NULL)); }
// A C array of n string pointers, for building a const char *const * in Go.
static char **go_strings(size_t n) { return (char **)calloc(n ? n : 1, sizeof(char *)); }
static void go_strings_set(char **v, size_t i, char *s) { v[i] = s; }
static void go_strings_free(char **v, size_t n) { for (size_t i = 0; i < n; i++) free(v[i]); free(v); }
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// callErr turns a shim's status and copied message into an error (nil on OK).
func callErr(st C.int, msg *C.char) error {
	if st == 0 {
		return nil
	}
	m := ""
	if msg != nil {
		m = C.GoString(msg)
		C.free(unsafe.Pointer(msg))
	}
	return &Error{Status: Status(st), Message: m}
}

func argErr(format string, a ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, a...)}
}

// readText calls f with the (buf, cap, needed) convention: size first, then text.
func readText(f func(buf *C.char, cap C.size_t, needed *C.size_t, msg **C.char) C.int) (string, error) {
	var needed C.size_t
	var msg *C.char
	st := f(nil, 0, &needed, &msg)
	if st != C.int(StatusOutOfRange) {
		if err := callErr(st, msg); err != nil {
			return "", err
		}
	} else if msg != nil {
		C.free(unsafe.Pointer(msg))
	}
	if needed == 0 {
		needed = 1
	}
	buf := (*C.char)(C.malloc(needed))
	defer C.free(unsafe.Pointer(buf))
	msg = nil
	if err := callErr(f(buf, needed, nil, &msg), msg); err != nil {
		return "", err
	}
	return C.GoString(buf), nil
}

// ptrHandle owns one libmos pointer: Close frees it once; get fails after Close.
// Read-only users hold the read lock so that Close waits for calls in flight.
type ptrHandle struct {
	mu   sync.RWMutex
	p    unsafe.Pointer
	name string
	free func(unsafe.Pointer)
}

func (h *ptrHandle) init(name string, p unsafe.Pointer, free func(unsafe.Pointer)) {
	h.name, h.p, h.free = name, p, free
}

// Close releases the C object; later calls do nothing.
func (h *ptrHandle) Close() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p != nil {
		h.free(h.p)
		h.p = nil
	}
	return nil
}

// use runs f with the live pointer under the read lock.
func (h *ptrHandle) use(f func(p unsafe.Pointer) error) error {
	if h == nil {
		return argErr("use of a nil handle")
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.p == nil {
		return argErr("%s used after Close", h.name)
	}
	return f(h.p)
}

// Space is a search space (mos_space), immutable.
type Space struct{ ptrHandle }

// Arch is one subnetwork of a space (mos_arch), immutable.
type Arch struct{ ptrHandle }

// Supernet is a Mixture-of-Supernets supernet (mos_supernet).
type Supernet struct{ ptrHandle }

// Model is a routed dense model (mos_model); translation is goroutine-safe.
type Model struct{ ptrHandle }

// SearchResult is the outcome of Search (mos_search_result), immutable.
type SearchResult struct{ ptrHandle }

func newSpace(p *C.mos_space) *Space {
	s := &Space{}
	s.init("Space", unsafe.Pointer(p), func(p unsafe.Pointer) { C.mos_space_destroy((*C.mos_space)(p)) })
	runtime.SetFinalizer(s, func(s *Space) { s.Close() })
	return s
}
func newArch(p *C.mos_arch) *Arch {
	a := &Arch{}
	a.init("Arch", unsafe.Pointer(p), func(p unsafe.Pointer) { C.mos_arch_destroy((*C.mos_arch)(p)) })
	runtime.SetFinalizer(a, func(a *Arch) { a.Close() })
	return a
}
func newSupernet(p *C.mos_supernet) *Supernet {
	n := &Supernet{}
	n.init("Supernet", unsafe.Pointer(p), func(p unsafe.Pointer) { C.mos_supernet_destroy((*C.mos_supernet)(p)) })
	runtime.SetFinalizer(n, func(n *Supernet) { n.Close() })
	return n
}
func newModel(p *C.mos_model) *Model {
	m := &Model{}
	m.init("Model", unsafe.Pointer(p), func(p unsafe.Pointer) { C.mos_model_destroy((*C.mos_model)(p)) })
	runtime.SetFinalizer(m, func(m *Model) { m.Close() })
	return m
}
func newSearchResult(p *C.mos_search_result) *SearchResult {
	r := &SearchResult{}
	r.init("SearchResult", unsafe.Pointer(p), func(p unsafe.Pointer) { C.mos_search_result_destroy((*C.mos_search_result)(p)) })
	runtime.SetFinalizer(r, func(r *SearchResult) { r.Close() })
	return r
}

func sp(p unsafe.Pointer) *C.mos_space         { return (*C.mos_space)(p) }
func ap(p unsafe.Pointer) *C.mos_arch          { return (*C.mos_arch)(p) }
func np(p unsafe.Pointer) *C.mos_supernet      { return (*C.mos_supernet)(p) }
func mp(p unsafe.Pointer) *C.mos_model         { return (*C.mos_model)(p) }
func rp(p unsafe.Pointer) *C.mos_search_result { return (*C.mos_search_result)(p) }

// SpacePreset creates a built-in space ("hat-wmt", "small").
func SpacePreset(name string) (*Space, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var out *C.mos_space
	var msg *C.char
	if err := callErr(C.go_space_preset(&out, cn, &msg), msg); err != nil {
		return nil, err
	}
	return newSpace(out), nil
}

// SpaceFromJSON parses a space from JSON text.
func SpaceFromJSON(text string) (*Space, error) {
	cj := C.CString(text)
	defer C.free(unsafe.Pointer(cj))
	var out *C.mos_space
	var msg *C.char
	if err := callErr(C.go_space_json(&out, cj, C.size_t(len(text)), &msg), msg); err != nil {
		return nil, err
	}
	return newSpace(out), nil
}

// JSON is the canonical JSON of the space.
func (s *Space) JSON() (text string, err error) {
	err = s.h().use(func(p unsafe.Pointer) (e error) {
		text, e = readText(func(b *C.char, c C.size_t, n *C.size_t, m **C.char) C.int {
			return C.go_space_to_json(sp(p), b, c, n, m)
		})
		return
	})
	return
}

// Name is the space's name.
func (s *Space) Name() (text string, err error) {
	err = s.h().use(func(p unsafe.Pointer) (e error) {
		text, e = readText(func(b *C.char, c C.size_t, n *C.size_t, m **C.char) C.int { return C.go_space_name(sp(p), b, c, n, m) })
		return
	})
	return
}

func archOf(s *Space, f func(out **C.mos_arch, p *C.mos_space, msg **C.char) C.int) (*Arch, error) {
	var a *Arch
	err := s.h().use(func(p unsafe.Pointer) error {
		var out *C.mos_arch
		var msg *C.char
		if err := callErr(f(&out, sp(p), &msg), msg); err != nil {
			return err
		}
		a = newArch(out)
		return nil
	})
	return a, err
}

// ArchLargest is every dimension of the space at its largest value.
func ArchLargest(s *Space) (*Arch, error) {
	return archOf(s, func(o **C.mos_arch, p *C.mos_space, m **C.char) C.int { return C.go_arch_largest(o, p, m) })
}

// ArchSmallest is every dimension of the space at its smallest value.
func ArchSmallest(s *Space) (*Arch, error) {
	return archOf(s, func(o **C.mos_arch, p *C.mos_space, m **C.char) C.int { return C.go_arch_smallest(o, p, m) })
}

// ArchSample draws every dimension uniformly; the same seed gives the same arch.
func ArchSample(s *Space, seed uint64) (*Arch, error) {
	return archOf(s, func(o **C.mos_arch, p *C.mos_space, m **C.char) C.int {
		return C.go_arch_sample(o, p, C.uint64_t(seed), m)
	})
}

// ArchFromJSON parses an arch of the space from JSON text.
func ArchFromJSON(s *Space, text string) (*Arch, error) {
	cj := C.CString(text)
	defer C.free(unsafe.Pointer(cj))
	return archOf(s, func(o **C.mos_arch, p *C.mos_space, m **C.char) C.int {
		return C.go_arch_json(o, p, cj, C.size_t(len(text)), m)
	})
}

// JSON is the canonical JSON of the arch.
func (a *Arch) JSON() (text string, err error) {
	err = a.h().use(func(p unsafe.Pointer) (e error) {
		text, e = readText(func(b *C.char, c C.size_t, n *C.size_t, m **C.char) C.int {
			return C.go_arch_to_json(ap(p), b, c, n, m)
		})
		return
	})
	return
}

// Params is the parameter count of the arch's dense model for a vocabulary.
func (a *Arch) Params(vocab uint64) (n uint64, err error) {
	err = a.h().use(func(p unsafe.Pointer) error {
		var out C.uint64_t
		var msg *C.char
		e := callErr(C.go_arch_params(ap(p), C.uint64_t(vocab), &out, &msg), msg)
		n = uint64(out)
		return e
	})
	return
}

// SupernetOptions are the options of a new supernet; DefaultSupernetOptions
// gives the library's defaults.
type SupernetOptions struct {
	Routing        int // 0 none, 1 layer, 2 neuron
	Experts        uint32
	RouterHidden   uint32
	VocabSize      uint32
	Dropout        float32
	AttnDropout    float32
	LabelSmoothing float32
	Seed           uint64
	TokenizerPath  string
}

// DefaultSupernetOptions are the library's defaults (MOS_SUPERNET_OPTIONS_INIT).
func DefaultSupernetOptions() SupernetOptions {
	var o C.mos_supernet_options
	C.mos_supernet_options_init(&o)
	return fromCSupernetOptions(&o)
}

func fromCSupernetOptions(o *C.mos_supernet_options) SupernetOptions {
	return SupernetOptions{int(o.routing), uint32(o.experts), uint32(o.router_hidden), uint32(o.vocab_size),
		float32(o.dropout), float32(o.attn_dropout), float32(o.label_smoothing), uint64(o.seed), ""}
}

// toC fills a C struct; the returned function frees its strings.
func (g SupernetOptions) toC(o *C.mos_supernet_options) func() {
	C.mos_supernet_options_init(o)
	o.routing = C.mos_routing(g.Routing)
	o.experts = C.uint32_t(g.Experts)
	o.router_hidden = C.uint32_t(g.RouterHidden)
	o.vocab_size = C.uint32_t(g.VocabSize)
	o.dropout = C.float(g.Dropout)
	o.attn_dropout = C.float(g.AttnDropout)
	o.label_smoothing = C.float(g.LabelSmoothing)
	o.seed = C.uint64_t(g.Seed)
	if g.TokenizerPath == "" {
		return func() {}
	}
	t := C.CString(g.TokenizerPath)
	o.tokenizer_path = t
	return func() { C.free(unsafe.Pointer(t)) }
}

// NewSupernet creates a supernet for the space with fresh weights.
func NewSupernet(s *Space, opt SupernetOptions) (*Supernet, error) {
	var n *Supernet
	err := s.h().use(func(p unsafe.Pointer) error {
		var o C.mos_supernet_options
		defer opt.toC(&o)()
		var out *C.mos_supernet
		var msg *C.char
		if err := callErr(C.go_supernet_create(&out, sp(p), &o, &msg), msg); err != nil {
			return err
		}
		n = newSupernet(out)
		return nil
	})
	return n, err
}

// LoadSupernet reads a supernet checkpoint.
func LoadSupernet(path string) (*Supernet, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var out *C.mos_supernet
	var msg *C.char
	if err := callErr(C.go_supernet_load(&out, cp, &msg), msg); err != nil {
		return nil, err
	}
	return newSupernet(out), nil
}

// Save writes the checkpoint atomically.
func (n *Supernet) Save(path string) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return n.h().use(func(p unsafe.Pointer) error {
		var msg *C.char
		return callErr(C.go_supernet_save(np(p), cp, &msg), msg)
	})
}

// Options are the supernet's options as created or loaded.
func (n *Supernet) Options() (opt SupernetOptions, err error) {
	err = n.h().use(func(p unsafe.Pointer) error {
		var o C.mos_supernet_options
		C.mos_supernet_options_init(&o)
		var msg *C.char
		if e := callErr(C.go_supernet_options(np(p), &o, &msg), msg); e != nil {
			return e
		}
		opt = fromCSupernetOptions(&o)
		return nil
	})
	return
}

// Space is a new handle to the supernet's space.
func (n *Supernet) Space() (s *Space, err error) {
	err = n.h().use(func(p unsafe.Pointer) error {
		var out *C.mos_space
		var msg *C.char
		if e := callErr(C.go_supernet_space(np(p), &out, &msg), msg); e != nil {
			return e
		}
		s = newSpace(out)
		return nil
	})
	return
}

// NumParams is the number of trainable floats.
func (n *Supernet) NumParams() (v uint64) {
	n.h().use(func(p unsafe.Pointer) error { v = uint64(C.mos_supernet_num_params(np(p))); return nil })
	return
}

// Route specialises the subnet arch into a standalone dense model.
func (n *Supernet) Route(a *Arch) (m *Model, err error) {
	err = n.h().use(func(p unsafe.Pointer) error {
		return a.h().use(func(q unsafe.Pointer) error {
			var out *C.mos_model
			var msg *C.char
			if e := callErr(C.go_route(np(p), ap(q), &out, &msg), msg); e != nil {
				return e
			}
			m = newModel(out)
			return nil
		})
	})
	return
}

// LoadModel reads a model file.
func LoadModel(path string) (*Model, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var out *C.mos_model
	var msg *C.char
	if err := callErr(C.go_model_load(&out, cp, &msg), msg); err != nil {
		return nil, err
	}
	return newModel(out), nil
}

// Save writes the model atomically.
func (m *Model) Save(path string) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return m.h().use(func(p unsafe.Pointer) error {
		var msg *C.char
		return callErr(C.go_model_save(mp(p), cp, &msg), msg)
	})
}

// Arch is a new handle to the model's arch.
func (m *Model) Arch() (a *Arch, err error) {
	err = m.h().use(func(p unsafe.Pointer) error {
		var out *C.mos_arch
		var msg *C.char
		if e := callErr(C.go_model_arch(mp(p), &out, &msg), msg); e != nil {
			return e
		}
		a = newArch(out)
		return nil
	})
	return
}

// NumParams is the number of weights of the dense model.
func (m *Model) NumParams() (v uint64) {
	m.h().use(func(p unsafe.Pointer) error { v = uint64(C.mos_model_num_params(mp(p))); return nil })
	return
}

// Translate translates a batch of sentences with beam width beam (1 = greedy).
// Safe from many goroutines on one model.
func (m *Model) Translate(sentences []string, beam int) (out []string, err error) {
	if beam < 1 {
		return nil, argErr("Translate: beam must be >= 1, got %d", beam)
	}
	err = m.h().use(func(p unsafe.Pointer) error {
		n := C.size_t(len(sentences))
		v := C.go_strings(n)
		defer C.go_strings_free(v, n)
		for i, s := range sentences {
			for k := 0; k < len(s); k++ {
				if s[k] == 0 {
					return argErr("Translate: sentence %d contains a NUL byte", i)
				}
			}
			C.go_strings_set(v, C.size_t(i), C.CString(s))
		}
		var texts *C.mos_texts
		var msg *C.char
		if e := callErr(C.go_translate(mp(p), (**C.char)(unsafe.Pointer(v)), n, C.uint32_t(beam), &texts, &msg), msg); e != nil {
			return e
		}
		defer C.mos_texts_destroy(texts)
		k := int(C.mos_texts_count(texts))
		out = make([]string, k)
		for i := 0; i < k; i++ {
			out[i] = C.GoString(C.mos_texts_get(texts, C.size_t(i)))
		}
		return nil
	})
	return
}

// TranslateIDs translates one sentence of token ids (without EOS).
func (m *Model) TranslateIDs(ids []int32, beam int) (out []int32, err error) {
	err = m.h().use(func(p unsafe.Pointer) error {
		src := C.malloc(C.size_t(len(ids)*4 + 4))
		defer C.free(src)
		copy(unsafe.Slice((*int32)(src), len(ids)+1), ids)
		var need C.size_t
		var msg *C.char
		st := C.go_translate_ids(mp(p), (*C.int32_t)(src), C.size_t(len(ids)), C.uint32_t(beam), nil, 0, &need, &msg)
		if st != C.int(StatusOutOfRange) {
			if e := callErr(st, msg); e != nil {
				return e
			}
		} else if msg != nil {
			C.free(unsafe.Pointer(msg))
		}
		buf := C.malloc(need*4 + 4)
		defer C.free(buf)
		msg = nil
		var n C.size_t
		if e := callErr(C.go_translate_ids(mp(p), (*C.int32_t)(src), C.size_t(len(ids)), C.uint32_t(beam), (*C.int32_t)(buf), need, &n, &msg), msg); e != nil {
			return e
		}
		out = append([]int32(nil), unsafe.Slice((*int32)(buf), int(n))...)
		return nil
	})
	return
}

// Latency is one latency measurement in milliseconds.
type Latency struct {
	MeanMS, P10MS, P50MS, P90MS, StdevMS float64
	Runs                                 uint32
}

// MeasureLatency times the model (batch 1, srcLen source tokens, steps decoder steps).
func (m *Model) MeasureLatency(srcLen, steps, beam, warmup, runs uint32) (l Latency, err error) {
	err = m.h().use(func(p unsafe.Pointer) error {
		var o C.mos_latency_options
		C.mos_latency_options_init(&o)
		o.src_len, o.steps, o.beam, o.warmup, o.runs = C.uint32_t(srcLen), C.uint32_t(steps), C.uint32_t(beam), C.uint32_t(warmup), C.uint32_t(runs)
		var r C.mos_latency_result
		var msg *C.char
		if e := callErr(C.go_latency(mp(p), &o, &r, &msg), msg); e != nil {
			return e
		}
		l = Latency{float64(r.mean_ms), float64(r.p10_ms), float64(r.p50_ms), float64(r.p90_ms), float64(r.stdev_ms), uint32(r.runs)}
		return nil
	})
	return
}

// SearchOptions are the options of Search; DefaultSearchOptions gives the
// library's defaults.
type SearchOptions struct {
	Split, SrcLang, TgtLang string
	ValidSentences          uint32
	BudgetsMS               []float64
	MaxParams, MaxFlops     uint64
	PredictorPath           string
	Measure                 bool
	Population, Parents     uint32
	Mutations, Crossovers   uint32
	Iterations              uint32
	MutationProb            float64
	Seed                    uint64
}

// DefaultSearchOptions are MOS_SEARCH_OPTIONS_INIT.
func DefaultSearchOptions() SearchOptions {
	var o C.mos_search_options
	C.mos_search_options_init(&o)
	return SearchOptions{Split: C.GoString(o.split), ValidSentences: uint32(o.valid_sentences),
		Population: uint32(o.population), Parents: uint32(o.parents), Mutations: uint32(o.mutations),
		Crossovers: uint32(o.crossovers), Iterations: uint32(o.iterations), MutationProb: float64(o.mutation_prob),
		Seed: uint64(o.seed)}
}

// Search runs the evolutionary search of the supernet's space on dataDir.
func Search(n *Supernet, dataDir string, opt SearchOptions) (r *SearchResult, err error) {
	var strs []*C.char
	cs := func(s string) *C.char {
		if s == "" {
			return nil
		}
		c := C.CString(s)
		strs = append(strs, c)
		return c
	}
	defer func() {
		for _, c := range strs {
			C.free(unsafe.Pointer(c))
		}
	}()
	var o C.mos_search_options
	C.mos_search_options_init(&o)
	if opt.Split != "" {
		o.split = cs(opt.Split)
	}
	o.src_lang, o.tgt_lang = cs(opt.SrcLang), cs(opt.TgtLang)
	o.valid_sentences = C.uint32_t(opt.ValidSentences)
	if len(opt.BudgetsMS) > 0 {
		b := (*C.double)(C.malloc(C.size_t(8 * len(opt.BudgetsMS))))
		defer C.free(unsafe.Pointer(b))
		copy(unsafe.Slice((*float64)(unsafe.Pointer(b)), len(opt.BudgetsMS)), opt.BudgetsMS)
		o.budgets_ms, o.n_budgets = b, C.size_t(len(opt.BudgetsMS))
	}
	o.max_params, o.max_flops = C.uint64_t(opt.MaxParams), C.uint64_t(opt.MaxFlops)
	o.predictor_path = cs(opt.PredictorPath)
	o.measure = C.bool(opt.Measure)
	o.population, o.parents = C.uint32_t(opt.Population), C.uint32_t(opt.Parents)
	o.mutations, o.crossovers, o.iterations = C.uint32_t(opt.Mutations), C.uint32_t(opt.Crossovers), C.uint32_t(opt.Iterations)
	o.mutation_prob, o.seed = C.double(opt.MutationProb), C.uint64_t(opt.Seed)
	dir := cs(dataDir)
	err = n.h().use(func(p unsafe.Pointer) error {
		var out *C.mos_search_result
		var msg *C.char
		if e := callErr(C.go_search(np(p), dir, &o, &out, &msg), msg); e != nil {
			return e
		}
		r = newSearchResult(out)
		return nil
	})
	return
}

// Count is the number of budgets (1 when none was given).
func (r *SearchResult) Count() (n int) {
	r.h().use(func(p unsafe.Pointer) error { n = int(C.mos_search_result_count(rp(p))); return nil })
	return
}

// Arch is the best arch for budget i.
func (r *SearchResult) Arch(i int) (a *Arch, err error) {
	err = r.h().use(func(p unsafe.Pointer) error {
		var out *C.mos_arch
		var msg *C.char
		if e := callErr(C.go_result_arch(rp(p), C.size_t(i), &out, &msg), msg); e != nil {
			return e
		}
		a = newArch(out)
		return nil
	})
	return
}

// Scores are the fitness (validation loss) and latency (ms) of budget i's best arch.
func (r *SearchResult) Scores(i int) (fitness, latencyMS float64, err error) {
	err = r.h().use(func(p unsafe.Pointer) error {
		var f, l C.double
		var msg *C.char
		e := callErr(C.go_result_scores(rp(p), C.size_t(i), &f, &l, &msg), msg)
		fitness, latencyMS = float64(f), float64(l)
		return e
	})
	return
}

// JSON is the whole result as JSON.
func (r *SearchResult) JSON() (text string, err error) {
	err = r.h().use(func(p unsafe.Pointer) (e error) {
		text, e = readText(func(b *C.char, c C.size_t, n *C.size_t, m **C.char) C.int {
			return C.go_result_to_json(rp(p), b, c, n, m)
		})
		return
	})
	return
}

// TrainOptions are the options of Train; DefaultTrainOptions gives the
// library's defaults. Training has no progress callback in Go.
type TrainOptions struct {
	DataDir, SrcLang, TgtLang, OutPath, ResumePath string
	VocabSize, MaxTokens, MaxLen                   uint32
	MaxSteps                                       int64
	MaxSeconds                                     float64
	Warmup, ValidEvery, ValidSentences             uint32
	LR                                             float32
	Seed                                           uint64
	Threads                                        int32
}

// DefaultTrainOptions are MOS_TRAIN_OPTIONS_INIT.
func DefaultTrainOptions() TrainOptions {
	var o C.mos_train_options
	C.mos_train_options_init(&o)
	return TrainOptions{VocabSize: uint32(o.vocab_size), MaxTokens: uint32(o.max_tokens), MaxLen: uint32(o.max_len),
		MaxSteps: int64(o.max_steps), MaxSeconds: float64(o.max_seconds), Warmup: uint32(o.warmup),
		ValidEvery: uint32(o.valid_every), ValidSentences: uint32(o.valid_sentences), LR: float32(o.lr),
		Seed: uint64(o.seed), Threads: int32(o.threads)}
}

// Train trains a new supernet for the space (blocking).
func Train(s *Space, netOpt SupernetOptions, opt TrainOptions) (n *Supernet, err error) {
	var strs []*C.char
	cs := func(v string) *C.char {
		if v == "" {
			return nil
		}
		c := C.CString(v)
		strs = append(strs, c)
		return c
	}
	defer func() {
		for _, c := range strs {
			C.free(unsafe.Pointer(c))
		}
	}()
	var o C.mos_train_options
	C.mos_train_options_init(&o)
	o.data_dir, o.src_lang, o.tgt_lang = cs(opt.DataDir), cs(opt.SrcLang), cs(opt.TgtLang)
	o.out_path, o.resume_path = cs(opt.OutPath), cs(opt.ResumePath)
	o.vocab_size, o.max_tokens, o.max_len = C.uint32_t(opt.VocabSize), C.uint32_t(opt.MaxTokens), C.uint32_t(opt.MaxLen)
	o.max_steps, o.max_seconds = C.int64_t(opt.MaxSteps), C.double(opt.MaxSeconds)
	o.warmup, o.valid_every, o.valid_sentences = C.uint32_t(opt.Warmup), C.uint32_t(opt.ValidEvery), C.uint32_t(opt.ValidSentences)
	o.lr, o.seed, o.threads = C.float(opt.LR), C.uint64_t(opt.Seed), C.int32_t(opt.Threads)
	err = s.h().use(func(p unsafe.Pointer) error {
		var no C.mos_supernet_options
		defer netOpt.toC(&no)()
		var out *C.mos_supernet
		var msg *C.char
		if e := callErr(C.go_train(&out, sp(p), &no, &o, &msg), msg); e != nil {
			return e
		}
		n = newSupernet(out)
		return nil
	})
	return
}

// h returns the handle of a possibly nil object: a nil object reports an error.
func (s *Space) h() *ptrHandle {
	if s == nil {
		return nil
	}
	return &s.ptrHandle
}
func (a *Arch) h() *ptrHandle {
	if a == nil {
		return nil
	}
	return &a.ptrHandle
}
func (n *Supernet) h() *ptrHandle {
	if n == nil {
		return nil
	}
	return &n.ptrHandle
}
func (m *Model) h() *ptrHandle {
	if m == nil {
		return nil
	}
	return &m.ptrHandle
}
func (r *SearchResult) h() *ptrHandle {
	if r == nil {
		return nil
	}
	return &r.ptrHandle
}
