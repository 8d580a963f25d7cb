// bindings/go/serving.go: the serving flow of libmos in Go (spaces, archs,
// supernets, routing, models and translation, search, latency, training), the
// idiomatic layer over the SWIG-generated wrappers of bindings/swig/serving.i
// (Space_create_preset, Model_translate, ...; this file has no cgo of its own).
// Every wrapped C function returns its mos_status as an error whose message was
// read by mos_last_error() inside the same C call, so the message belongs to
// this call whatever OS thread the goroutine runs on next (docs/threading.md).
//
// Ownership: every handle type has Close (idempotent, nil-safe); use after Close
// is an error, never a crash; a finalizer closes a handle dropped without Close.
// Threading: Space, Arch, Model and SearchResult are immutable and may be shared
// by goroutines; a Supernet may be shared for routing, saving and searching
// (read-only). Close waits for the calls in flight on the handle.

package mos

import (
	"fmt"
	"math"
	"runtime"
	"strings"
)

func argErr(format string, a ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, a...)}
}

// Space is a search space (mos_space), immutable.
type Space struct{ handle[CSpace] }

// Arch is one subnetwork of a space (mos_arch), immutable.
type Arch struct{ handle[CArch] }

// Supernet is a Mixture-of-Supernets supernet (mos_supernet).
type Supernet struct{ handle[CSupernet] }

// Model is a routed dense model (mos_model); translation is goroutine-safe.
type Model struct{ handle[CModel] }

// SearchResult is the outcome of Search (mos_search_result), immutable.
type SearchResult struct{ handle[CSearchResult] }

func newSpace(p SwigcptrCSpace) *Space {
	s := &Space{}
	s.init("Space", p, DeleteCSpace)
	runtime.SetFinalizer(s, (*Space).Close)
	return s
}

func newArch(p SwigcptrCArch) *Arch {
	a := &Arch{}
	a.init("Arch", p, DeleteCArch)
	runtime.SetFinalizer(a, (*Arch).Close)
	return a
}

func newSupernet(p SwigcptrCSupernet) *Supernet {
	n := &Supernet{}
	n.init("Supernet", p, DeleteCSupernet)
	runtime.SetFinalizer(n, (*Supernet).Close)
	return n
}

func newModel(p SwigcptrCModel) *Model {
	m := &Model{}
	m.init("Model", p, DeleteCModel)
	runtime.SetFinalizer(m, (*Model).Close)
	return m
}

func newSearchResult(p SwigcptrCSearchResult) *SearchResult {
	r := &SearchResult{}
	r.init("SearchResult", p, DeleteCSearchResult)
	runtime.SetFinalizer(r, (*SearchResult).Close)
	return r
}

// h returns the handle of a possibly nil object: a nil object reports an error.
func (s *Space) h() *handle[CSpace] {
	if s == nil {
		return nil
	}
	return &s.handle
}
func (a *Arch) h() *handle[CArch] {
	if a == nil {
		return nil
	}
	return &a.handle
}
func (n *Supernet) h() *handle[CSupernet] {
	if n == nil {
		return nil
	}
	return &n.handle
}
func (m *Model) h() *handle[CModel] {
	if m == nil {
		return nil
	}
	return &m.handle
}
func (r *SearchResult) h() *handle[CSearchResult] {
	if r == nil {
		return nil
	}
	return &r.handle
}

// Close releases the space; later calls do nothing.
func (s *Space) Close() error { return s.h().Close() }

// Close releases the arch; later calls do nothing.
func (a *Arch) Close() error { return a.h().Close() }

// Close releases the supernet; later calls do nothing.
func (n *Supernet) Close() error { return n.h().Close() }

// Close releases the model; later calls do nothing.
func (m *Model) Close() error { return m.h().Close() }

// Close releases the result; later calls do nothing.
func (r *SearchResult) Close() error { return r.h().Close() }

// SpacePreset creates a built-in space ("hat-wmt", "small").
func SpacePreset(name string) (*Space, error) {
	var p SwigcptrCSpace
	if err := Space_create_preset(&p, name); err != nil {
		return nil, err
	}
	return newSpace(p), nil
}

// SpaceFromJSON parses a space from JSON text.
func SpaceFromJSON(text string) (*Space, error) {
	var p SwigcptrCSpace
	if err := Space_create_json(&p, text); err != nil {
		return nil, err
	}
	return newSpace(p), nil
}

// JSON is the canonical JSON of the space.
func (s *Space) JSON() (text string, err error) {
	err = s.h().use(func(p CSpace) (e error) {
		text, e = readText(func(b []byte, n *int) error { return Space_to_json(b, n, p) })
		return
	})
	return
}

// Name is the space's name.
func (s *Space) Name() (text string, err error) {
	err = s.h().use(func(p CSpace) (e error) {
		text, e = readText(func(b []byte, n *int) error { return Space_name(b, n, p) })
		return
	})
	return
}

// archOf makes an arch of the space with one of the Arch_create_* functions.
func archOf(s *Space, create func(out *SwigcptrCArch, p CSpace) error) (a *Arch, err error) {
	err = s.h().use(func(p CSpace) error {
		var out SwigcptrCArch
		if e := create(&out, p); e != nil {
			return e
		}
		a = newArch(out)
		return nil
	})
	return
}

// ArchLargest is every dimension of the space at its largest value.
func ArchLargest(s *Space) (*Arch, error) { return archOf(s, Arch_create_largest) }

// ArchSmallest is every dimension of the space at its smallest value.
func ArchSmallest(s *Space) (*Arch, error) { return archOf(s, Arch_create_smallest) }

// ArchSample draws every dimension uniformly; the same seed gives the same arch.
func ArchSample(s *Space, seed uint64) (*Arch, error) {
	return archOf(s, func(o *SwigcptrCArch, p CSpace) error { return Arch_sample(o, p, seed) })
}

// ArchFromJSON parses an arch of the space from JSON text.
func ArchFromJSON(s *Space, text string) (*Arch, error) {
	return archOf(s, func(o *SwigcptrCArch, p CSpace) error { return Arch_create_json(o, p, text) })
}

// JSON is the canonical JSON of the arch.
func (a *Arch) JSON() (text string, err error) {
	err = a.h().use(func(p CArch) (e error) {
		text, e = readText(func(b []byte, n *int) error { return Arch_to_json(b, n, p) })
		return
	})
	return
}

// Params is the parameter count of the arch's dense model for a vocabulary.
func (a *Arch) Params(vocab uint64) (n uint64, err error) {
	err = a.h().use(func(p CArch) error { return Arch_params(&n, p, vocab) })
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

// DefaultSupernetOptions are the library's defaults (MOS_SUPERNET_OPTIONS_INIT),
// read from a struct that mos_supernet_options_init filled in.
func DefaultSupernetOptions() SupernetOptions {
	c := NewCSupernetOptions()
	mustAllocate(c, "DefaultSupernetOptions")
	defer DeleteCSupernetOptions(c)
	return fromCSupernetOptions(c)
}

func fromCSupernetOptions(c CSupernetOptions) SupernetOptions {
	return SupernetOptions{Routing: c.GetRouting(), Experts: uint32(c.GetExperts()),
		RouterHidden: uint32(c.GetRouter_hidden()), VocabSize: uint32(c.GetVocab_size()),
		Dropout: c.GetDropout(), AttnDropout: c.GetAttn_dropout(), LabelSmoothing: c.GetLabel_smoothing(),
		Seed: c.GetSeed(), TokenizerPath: c.GetTokenizer_path()}
}

// toC makes the C options (the caller deletes them with DeleteCSupernetOptions).
func (g SupernetOptions) toC() (CSupernetOptions, error) {
	c := NewCSupernetOptions()
	if err := allocated(c, "supernet options"); err != nil {
		return nil, err
	}
	c.SetRouting(g.Routing)
	c.SetExperts(uint(g.Experts))
	c.SetRouter_hidden(uint(g.RouterHidden))
	c.SetVocab_size(uint(g.VocabSize))
	c.SetDropout(g.Dropout)
	c.SetAttn_dropout(g.AttnDropout)
	c.SetLabel_smoothing(g.LabelSmoothing)
	c.SetSeed(g.Seed)
	if g.TokenizerPath != "" {
		c.SetTokenizer_path(g.TokenizerPath)
	}
	return c, nil
}

// NewSupernet creates a supernet for the space with fresh weights.
func NewSupernet(s *Space, opt SupernetOptions) (n *Supernet, err error) {
	err = s.h().use(func(p CSpace) error {
		c, e := opt.toC()
		if e != nil {
			return e
		}
		defer DeleteCSupernetOptions(c)
		var out SwigcptrCSupernet
		if e := Supernet_create(&out, p, c); e != nil {
			return e
		}
		n = newSupernet(out)
		return nil
	})
	return
}

// LoadSupernet reads a supernet checkpoint.
func LoadSupernet(path string) (*Supernet, error) {
	var p SwigcptrCSupernet
	if err := Supernet_load(&p, path); err != nil {
		return nil, err
	}
	return newSupernet(p), nil
}

// LoadBuiltinSupernet loads a supernet that ships with libmos, without a path
// ("" = the default, bible-en-es), its SHA-256 checked (docs/builtin.md).
func LoadBuiltinSupernet(name string) (*Supernet, error) {
	var p SwigcptrCSupernet
	if err := Supernet_load_builtin(&p, name); err != nil {
		return nil, err
	}
	return newSupernet(p), nil
}

// Save writes the checkpoint atomically.
func (n *Supernet) Save(path string) error {
	return n.h().use(func(p CSupernet) error { return Supernet_save(p, path) })
}

// Options are the supernet's options as created or loaded.
func (n *Supernet) Options() (opt SupernetOptions, err error) {
	err = n.h().use(func(p CSupernet) error {
		c := NewCSupernetOptions()
		if e := allocated(c, "Supernet.Options"); e != nil {
			return e
		}
		defer DeleteCSupernetOptions(c)
		if e := Supernet_get_options(c, p); e != nil {
			return e
		}
		opt = fromCSupernetOptions(c)
		return nil
	})
	return
}

// Space is a new handle to the supernet's space.
func (n *Supernet) Space() (s *Space, err error) {
	err = n.h().use(func(p CSupernet) error {
		var out SwigcptrCSpace
		if e := Supernet_space(&out, p); e != nil {
			return e
		}
		s = newSpace(out)
		return nil
	})
	return
}

// Meta is the string metadata `key` the supernet carries ("format",
// "format_version", "src_lang", "tgt_lang", ...); "" when it does not carry it.
func (n *Supernet) Meta(key string) (text string, err error) {
	err = n.h().use(func(p CSupernet) (e error) {
		text, e = readText(func(b []byte, m *int) error { return Supernet_get_meta(b, m, p, key) })
		return
	})
	return
}

// NumParams is the number of trainable floats (0 after Close).
func (n *Supernet) NumParams() (v uint64) {
	n.h().use(func(p CSupernet) error { v = Supernet_num_params(p); return nil })
	return
}

// Route specialises the subnet arch into a standalone dense model, on all
// cores.
func (n *Supernet) Route(a *Arch) (*Model, error) { return n.RouteThreads(a, 0) }

// RouteThreads is Route on `threads` threads for this call only (0 = all
// cores; docs/threading.md).
func (n *Supernet) RouteThreads(a *Arch, threads int32) (*Model, error) {
	return n.RouteDType(a, DTypeF32, threads)
}

// DType is a model's precision (mos_dtype): an integer, so that a value of a
// newer library stays representable.
type DType int32

// The precisions of mos_dtype.
const (
	DTypeF32  DType = 0
	DTypeBF16 DType = 1
	DTypeINT8 DType = 2
)

// RouteDType is RouteThreads into a model of precision dtype (docs/serving.md:
// where the CPU lacks its instructions the model computes in f32 and
// Meta("warning") says why).
func (n *Supernet) RouteDType(a *Arch, dtype DType, threads int32) (m *Model, err error) {
	err = n.h().use(func(p CSupernet) error {
		return a.h().use(func(q CArch) error {
			o := NewCRouteOptions()
			if e := allocated(o, "route options"); e != nil {
				return e
			}
			defer DeleteCRouteOptions(o)
			o.SetThreads(int(threads))
			o.Set_precision(int(dtype))
			var out SwigcptrCModel
			if e := Route(&out, p, q, o); e != nil {
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
	var p SwigcptrCModel
	if err := Model_load(&p, path); err != nil {
		return nil, err
	}
	return newModel(p), nil
}

// Save writes the model atomically.
func (m *Model) Save(path string) error {
	return m.h().use(func(p CModel) error { return Model_save(p, path) })
}

// Arch is a new handle to the model's arch.
func (m *Model) Arch() (a *Arch, err error) {
	err = m.h().use(func(p CModel) error {
		var out SwigcptrCArch
		if e := Model_arch(&out, p); e != nil {
			return e
		}
		a = newArch(out)
		return nil
	})
	return
}

// Meta is the string metadata `key` the model carries ("format",
// "format_version", "src_lang", "tgt_lang"); "" when it does not carry it.
func (m *Model) Meta(key string) (text string, err error) {
	err = m.h().use(func(p CModel) (e error) {
		text, e = readText(func(b []byte, n *int) error { return Model_get_meta(b, n, p, key) })
		return
	})
	return
}

// NumParams is the number of weights of the dense model (0 after Close).
func (m *Model) NumParams() (v uint64) {
	m.h().use(func(p CModel) error { v = Model_num_params(p); return nil })
	return
}

// TranslateOptions are the decoding options of TranslateWith,
// TranslateIDsWith and TranslateBatch: the beam width (1 = greedy) and the
// threads of the call (0 = all cores; a service translating from many
// goroutines passes 1, docs/threading.md), and the batch options of
// mos_translate_options (docs/serving.md). A zero field other than Beam and
// Threads means the library's default.
type TranslateOptions struct {
	Beam    int
	Threads int32
	// MaxBatchSentences: at most this many sentences per batch (0: 32).
	MaxBatchSentences int
	// MaxBatchTokens: at most this many padded source tokens per batch (0: no limit).
	MaxBatchTokens int
	// InputOrder: batches in input order instead of sorted by length (false:
	// sorted). Results are in input order either way.
	InputOrder bool
	// MaxLenA, MaxLenB: output limit floor(MaxLenA * source tokens) + MaxLenB
	// (fairseq's max_len_a/b; 0: the library's 1 and 10).
	MaxLenA float32
	MaxLenB int
	// NBest: hypotheses per sentence returned by TranslateBatch, 1..Beam (0: 1).
	NBest int
	// DraftTokens: speculative decoding of greedy batches of one sentence on
	// an f32 model, an int8 copy of the model drafting this many tokens per
	// check, 0..15 (0: off); the same output (docs/serving.md).
	DraftTokens int
}

// translateOptions are the library's decoding defaults with o's fields (the
// caller deletes them with DeleteCTranslateOptions).
func translateOptions(o TranslateOptions) (CTranslateOptions, error) {
	c := NewCTranslateOptions()
	if err := allocated(c, "translate options"); err != nil {
		return nil, err
	}
	c.SetBeam(uint(uint32(o.Beam)))
	c.SetThreads(int(o.Threads))
	for _, f := range []struct {
		name string
		v    int
		set  func(uint)
	}{
		{"MaxBatchSentences", o.MaxBatchSentences, c.SetMax_batch_sentences},
		{"MaxBatchTokens", o.MaxBatchTokens, c.SetMax_batch_tokens},
		{"MaxLenB", o.MaxLenB, c.SetMax_len_b},
		{"NBest", o.NBest, c.SetNbest},
		{"DraftTokens", o.DraftTokens, c.SetDraft_tokens},
	} {
		if f.v < 0 || f.v > math.MaxUint32 {
			DeleteCTranslateOptions(c)
			return nil, argErr("TranslateOptions.%s %d is negative or too large", f.name, f.v)
		}
		if f.v > 0 {
			f.set(uint(f.v))
		}
	}
	if o.InputOrder {
		c.SetSort_by_length(0)
	}
	if o.MaxLenA != 0 {
		c.SetMax_len_factor(o.MaxLenA)
	}
	return c, nil
}

// Translate translates a batch of sentences with beam width beam (1 = greedy)
// on all cores. Safe from many goroutines on one model.
func (m *Model) Translate(sentences []string, beam int) ([]string, error) {
	return m.TranslateWith(sentences, TranslateOptions{Beam: beam})
}

// TranslateWith is Translate with the options o.
func (m *Model) TranslateWith(sentences []string, opt TranslateOptions) (out []string, err error) {
	beam := opt.Beam
	if beam < 1 {
		return nil, argErr("Translate: beam must be >= 1, got %d", beam)
	}
	for i, s := range sentences {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, argErr("Translate: sentence %d contains a NUL byte", i)
		}
	}
	err = m.h().use(func(p CModel) error {
		o, e := translateOptions(opt)
		if e != nil {
			return e
		}
		defer DeleteCTranslateOptions(o)
		var texts SwigcptrCTexts
		if e := Model_translate(&texts, p, sentences, o); e != nil {
			return e
		}
		defer DeleteCTexts(texts)
		out = make([]string, Texts_count(texts))
		for i := range out {
			out[i] = Texts_get(texts, int64(i))
		}
		return nil
	})
	return
}

// Hypothesis is one translation of TranslateBatch.
type Hypothesis struct {
	Text string
	// NumTokens: target tokens (tokenizer pieces), without EOS.
	NumTokens int
	// Score: the beam's length-penalised score, LogProb / (NumTokens +
	// 1)^length_penalty, by which hypotheses are ranked.
	Score float32
	// LogProb: the sum of the natural-log probabilities of the tokens and EOS.
	LogProb float32
}

// TranslateBatch translates sentences as TranslateWith, returning for each
// sentence, in input order, its opt.NBest best hypotheses, best first, with
// scores (mos_model_translate_batch). The sentences are cut into batches by
// the options' limits. Safe from many goroutines on one model.
func (m *Model) TranslateBatch(sentences []string, opt TranslateOptions) (out [][]Hypothesis, err error) {
	if opt.Beam < 1 {
		return nil, argErr("TranslateBatch: beam must be >= 1, got %d", opt.Beam)
	}
	for i, s := range sentences {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, argErr("TranslateBatch: sentence %d contains a NUL byte", i)
		}
	}
	err = m.h().use(func(p CModel) error {
		o, e := translateOptions(opt)
		if e != nil {
			return e
		}
		defer DeleteCTranslateOptions(o)
		var t SwigcptrCTranslations
		if e := Model_translate_batch(&t, p, sentences, o); e != nil {
			return e
		}
		defer DeleteCTranslations(t)
		out = make([][]Hypothesis, Translations_count(t))
		for i := range out {
			nb := Translations_nbest(t, int64(i))
			out[i] = make([]Hypothesis, nb)
			for k := range out[i] {
				h := &out[i][k]
				// Locals, not &h.Score: cgo refuses a pointer into a struct
				// that holds Go pointers (the text).
				var score, logprob float32
				if e := Translations_score(&score, &logprob, t, int64(i), int64(k)); e != nil {
					return e
				}
				h.Score, h.LogProb = score, logprob
				h.Text = Translations_text(t, int64(i), int64(k))
				h.NumTokens = int(Translations_num_tokens(t, int64(i), int64(k)))
			}
		}
		return nil
	})
	return
}

// Convert is a new model: m at precision dtype (mos_model_convert).
func (m *Model) Convert(dtype DType) (c *Model, err error) {
	err = m.h().use(func(p CModel) error {
		o := NewCConvertOptions()
		if e := allocated(o, "convert options"); e != nil {
			return e
		}
		defer DeleteCConvertOptions(o)
		o.Set_precision(int(dtype))
		var out SwigcptrCModel
		if e := Model_convert(&out, p, o); e != nil {
			return e
		}
		c = newModel(out)
		return nil
	})
	return
}

// DType is the model's precision, "f32", "bf16" or "int8" (Meta("dtype")).
func (m *Model) DType() (string, error) { return m.Meta("dtype") }

// ComputeDType is what the model computes in on this CPU (Meta("compute_dtype")).
func (m *Model) ComputeDType() (string, error) { return m.Meta("compute_dtype") }

// TranslateIDs translates one sentence of token ids (without EOS) on all cores.
func (m *Model) TranslateIDs(ids []int32, beam int) ([]int32, error) {
	return m.TranslateIDsWith(ids, TranslateOptions{Beam: beam})
}

// TranslateIDsWith is TranslateIDs with the options o.
func (m *Model) TranslateIDsWith(ids []int32, opt TranslateOptions) (out []int32, err error) {
	err = m.h().use(func(p CModel) error {
		o, e := translateOptions(opt)
		if e != nil {
			return e
		}
		defer DeleteCTranslateOptions(o)
		// The size first (MOS_OUT_OF_RANGE with the length), then the ids:
		// decoding is deterministic, so the second call gives the same output.
		var need int
		if e := Model_translate_ids(nil, &need, p, ids, o); e != nil && !isStatus(e, StatusOutOfRange) {
			return e
		}
		buf := make([]int32, need)
		var n int
		if e := Model_translate_ids(buf, &n, p, ids, o); e != nil {
			return e
		}
		out = append([]int32(nil), buf[:n]...)
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
	err = m.h().use(func(p CModel) error {
		o := NewCLatencyOptions()
		if e := allocated(o, "MeasureLatency"); e != nil {
			return e
		}
		defer DeleteCLatencyOptions(o)
		r := NewCLatencyResult()
		if e := allocated(r, "MeasureLatency"); e != nil {
			return e
		}
		defer DeleteCLatencyResult(r)
		o.SetSrc_len(uint(srcLen))
		o.SetSteps(uint(steps))
		o.SetBeam(uint(beam))
		o.SetWarmup(uint(warmup))
		o.SetRuns(uint(runs))
		if e := Latency_measure(r, p, o); e != nil {
			return e
		}
		l = Latency{r.GetMean_ms(), r.GetP10_ms(), r.GetP50_ms(), r.GetP90_ms(), r.GetStdev_ms(), uint32(r.GetRuns())}
		return nil
	})
	return
}

// SearchOptions are the options of Search; DefaultSearchOptions gives the
// library's defaults. An empty string leaves the library's value (NULL, or
// "valid" for Split).
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
	Threads                 int32 // threads of the search, 0 = all cores
}

// DefaultSearchOptions are MOS_SEARCH_OPTIONS_INIT, read from a struct that
// mos_search_options_init filled in.
func DefaultSearchOptions() SearchOptions {
	c := NewCSearchOptions()
	mustAllocate(c, "DefaultSearchOptions")
	defer DeleteCSearchOptions(c)
	return SearchOptions{Split: c.GetSplit(), SrcLang: c.GetSrc_lang(), TgtLang: c.GetTgt_lang(),
		ValidSentences: uint32(c.GetValid_sentences()), MaxParams: c.GetMax_params(), MaxFlops: c.GetMax_flops(),
		PredictorPath: c.GetPredictor_path(), Measure: c.GetMeasure(), Population: uint32(c.GetPopulation()),
		Parents: uint32(c.GetParents()), Mutations: uint32(c.GetMutations()), Crossovers: uint32(c.GetCrossovers()),
		Iterations: uint32(c.GetIterations()), MutationProb: c.GetMutation_prob(), Seed: c.GetSeed(),
		Threads: int32(c.GetThreads())}
}

// toC makes the C options (the caller deletes them with DeleteCSearchOptions).
func (g SearchOptions) toC() (CSearchOptions, error) {
	c := NewCSearchOptions()
	if err := allocated(c, "search options"); err != nil {
		return nil, err
	}
	setString(c.SetSplit, g.Split)
	setString(c.SetSrc_lang, g.SrcLang)
	setString(c.SetTgt_lang, g.TgtLang)
	setString(c.SetPredictor_path, g.PredictorPath)
	c.SetValid_sentences(uint(g.ValidSentences))
	c.Set_budgets(g.BudgetsMS)
	c.SetMax_params(g.MaxParams)
	c.SetMax_flops(g.MaxFlops)
	c.SetMeasure(g.Measure)
	c.SetPopulation(uint(g.Population))
	c.SetParents(uint(g.Parents))
	c.SetMutations(uint(g.Mutations))
	c.SetCrossovers(uint(g.Crossovers))
	c.SetIterations(uint(g.Iterations))
	c.SetMutation_prob(g.MutationProb)
	c.SetSeed(g.Seed)
	c.SetThreads(int(g.Threads))
	return c, nil
}

// setString sets a string member of a C options struct unless v is empty.
func setString(set func(string), v string) {
	if v != "" {
		set(v)
	}
}

// Search runs the evolutionary search of the supernet's space on dataDir.
func Search(n *Supernet, dataDir string, opt SearchOptions) (r *SearchResult, err error) {
	err = n.h().use(func(p CSupernet) error {
		c, e := opt.toC()
		if e != nil {
			return e
		}
		defer DeleteCSearchOptions(c)
		var out SwigcptrCSearchResult
		if e := Search_raw(&out, p, dataDir, c); e != nil {
			return e
		}
		r = newSearchResult(out)
		return nil
	})
	return
}

// Count is the number of budgets (1 when none was given; 0 after Close).
func (r *SearchResult) Count() (n int) {
	r.h().use(func(p CSearchResult) error { n = int(Search_result_count(p)); return nil })
	return
}

// Arch is the best arch for budget i.
func (r *SearchResult) Arch(i int) (a *Arch, err error) {
	err = r.h().use(func(p CSearchResult) error {
		var out SwigcptrCArch
		if e := Search_result_arch(&out, p, int64(i)); e != nil {
			return e
		}
		a = newArch(out)
		return nil
	})
	return
}

// Scores are the fitness (validation loss) and latency (ms) of budget i's best arch.
func (r *SearchResult) Scores(i int) (fitness, latencyMS float64, err error) {
	err = r.h().use(func(p CSearchResult) error { return Search_result_scores(&fitness, &latencyMS, p, int64(i)) })
	return
}

// JSON is the whole result as JSON.
func (r *SearchResult) JSON() (text string, err error) {
	err = r.h().use(func(p CSearchResult) (e error) {
		text, e = readText(func(b []byte, n *int) error { return Search_result_to_json(b, n, p) })
		return
	})
	return
}

// TrainOptions are the options of Train; DefaultTrainOptions gives the
// library's defaults. Training has no progress callback in Go. An empty string
// leaves the library's value (NULL).
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

// DefaultTrainOptions are MOS_TRAIN_OPTIONS_INIT, read from a struct that
// mos_train_options_init filled in.
func DefaultTrainOptions() TrainOptions {
	c := NewCTrainOptions()
	mustAllocate(c, "DefaultTrainOptions")
	defer DeleteCTrainOptions(c)
	return TrainOptions{DataDir: c.GetData_dir(), SrcLang: c.GetSrc_lang(), TgtLang: c.GetTgt_lang(),
		OutPath: c.GetOut_path(), ResumePath: c.GetResume_path(), VocabSize: uint32(c.GetVocab_size()),
		MaxTokens: uint32(c.GetMax_tokens()), MaxLen: uint32(c.GetMax_len()), MaxSteps: c.GetMax_steps(),
		MaxSeconds: c.GetMax_seconds(), Warmup: uint32(c.GetWarmup()), ValidEvery: uint32(c.GetValid_every()),
		ValidSentences: uint32(c.GetValid_sentences()), LR: c.GetLr(), Seed: c.GetSeed(), Threads: int32(c.GetThreads())}
}

// toC makes the C options (the caller deletes them with DeleteCTrainOptions).
func (g TrainOptions) toC() (CTrainOptions, error) {
	c := NewCTrainOptions()
	if err := allocated(c, "train options"); err != nil {
		return nil, err
	}
	setString(c.SetData_dir, g.DataDir)
	setString(c.SetSrc_lang, g.SrcLang)
	setString(c.SetTgt_lang, g.TgtLang)
	setString(c.SetOut_path, g.OutPath)
	setString(c.SetResume_path, g.ResumePath)
	c.SetVocab_size(uint(g.VocabSize))
	c.SetMax_tokens(uint(g.MaxTokens))
	c.SetMax_len(uint(g.MaxLen))
	c.SetMax_steps(g.MaxSteps)
	c.SetMax_seconds(g.MaxSeconds)
	c.SetWarmup(uint(g.Warmup))
	c.SetValid_every(uint(g.ValidEvery))
	c.SetValid_sentences(uint(g.ValidSentences))
	c.SetLr(g.LR)
	c.SetSeed(g.Seed)
	c.SetThreads(int(g.Threads))
	return c, nil
}

// Train trains a new supernet for the space (blocking).
func Train(s *Space, netOpt SupernetOptions, opt TrainOptions) (n *Supernet, err error) {
	err = s.h().use(func(p CSpace) error {
		c, e := opt.toC()
		if e != nil {
			return e
		}
		defer DeleteCTrainOptions(c)
		no, e := netOpt.toC()
		if e != nil {
			return e
		}
		defer DeleteCSupernetOptions(no)
		var out SwigcptrCSupernet
		if e := Train_raw(&out, p, no, c); e != nil {
			// MOS_ABORTED still hands over the last checkpoint's supernet.
			if out != 0 {
				DeleteCSupernet(out)
			}
			return e
		}
		n = newSupernet(out)
		return nil
	})
	return
}
