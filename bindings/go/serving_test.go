// bindings/go/serving_test.go: the serving flow through the Go binding on a
// checkpoint made here with Train (toy word-by-word corpus, 5 steps of a tiny
// space): search (with and without latency budgets), route, translate,
// save/load, concurrent translation from goroutines on one model, and the error
// paths (closed and nil handles, empty and NUL input, missing and wrong files,
// bad space and arch JSON, impossible budgets, errors from many goroutines at
// once), plus the options defaults read from the library.

package mos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const tinySpace = `{"format":"mos-space","version":1,"name":"tiny","qkv_dim":16,
 "encoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"heads":[2,4]},
 "decoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"self_heads":[2,4],
 "cross_heads":[2,4],"cross_k":[1]}}`

var toySrc = []string{"red", "blue", "green", "cat", "dog", "bird", "sees", "likes", "big", "small", "the"}
var toyTgt = []string{"rojo", "azul", "verde", "gato", "perro", "pajaro", "ve", "gusta", "grande", "chico", "el"}

// WriteToyCorpus writes split.xx / split.yy pairs of a word-by-word dictionary.
func writeToyCorpus(t *testing.T, dir string) {
	seed := uint64(11)
	next := func() int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed >> 33)
	}
	for _, sp := range []struct {
		name string
		n    int
	}{{"train", 300}, {"valid", 40}, {"test", 40}} {
		var xs, ys strings.Builder
		for i := 0; i < sp.n; i++ {
			l := 3 + next()%4
			var a, b []string
			for k := 0; k < l; k++ {
				w := next() % len(toySrc)
				a, b = append(a, toySrc[w]), append(b, toyTgt[w])
			}
			fmt.Fprintln(&xs, strings.Join(a, " "))
			fmt.Fprintln(&ys, strings.Join(b, " "))
		}
		if err := os.WriteFile(filepath.Join(dir, sp.name+".xx"), []byte(xs.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, sp.name+".yy"), []byte(ys.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func trainTiny(t *testing.T, dir string) (*Space, *Supernet) {
	writeToyCorpus(t, dir)
	space, err := SpaceFromJSON(tinySpace)
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultTrainOptions()
	o.DataDir, o.SrcLang, o.TgtLang, o.OutPath = dir, "xx", "yy", filepath.Join(dir, "net.mos")
	o.VocabSize, o.MaxSteps, o.MaxTokens, o.MaxLen, o.Warmup = 40, 5, 256, 32, 2
	o.ValidEvery, o.ValidSentences, o.Threads = 5, 20, 1
	net, err := Train(space, DefaultSupernetOptions(), o)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return space, net
}

func TestServingFlow(t *testing.T) {
	dir := t.TempDir()
	space, trained := trainTiny(t, dir)
	defer space.Close()
	if trained.NumParams() == 0 {
		t.Fatal("trained supernet has no parameters")
	}
	trained.Close()

	net, err := LoadSupernet(filepath.Join(dir, "net.mos"))
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if opt, err := net.Options(); err != nil || opt.Routing != 2 {
		t.Fatalf("Options: %+v %v", opt, err)
	}
	if name, _ := space.Name(); name != "tiny" {
		t.Fatalf("space name %q", name)
	}

	// Archs.
	big, _ := ArchLargest(space)
	small, _ := ArchSmallest(space)
	pb, _ := big.Params(40)
	ps, _ := small.Params(40)
	if pb <= ps {
		t.Fatalf("largest %d <= smallest %d params", pb, ps)
	}
	s, _ := ArchSample(space, 3)
	js, _ := s.JSON()
	again, err := ArchFromJSON(space, js)
	if err != nil {
		t.Fatal(err)
	}
	if j2, _ := again.JSON(); j2 != js {
		t.Fatal("arch JSON round trip differs")
	}

	// Search.
	so := DefaultSearchOptions()
	so.SrcLang, so.TgtLang, so.ValidSentences = "xx", "yy", 20
	so.Population, so.Parents, so.Mutations, so.Crossovers, so.Iterations = 8, 2, 3, 3, 2
	res, err := Search(net, dir, so)
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	defer res.Close()
	if res.Count() != 1 {
		t.Fatalf("Count %d", res.Count())
	}
	if f, _, err := res.Scores(0); err != nil || !(f > 0) {
		t.Fatalf("Scores: %v %v", f, err)
	}
	if j, err := res.JSON(); err != nil || !strings.Contains(j, "{") {
		t.Fatalf("JSON: %v", err)
	}
	best, err := res.Arch(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Arch(5); err == nil {
		t.Fatal("Arch(5) of a 1-budget result succeeded")
	}

	// Route, translate, save, reload.
	model, err := net.Route(best)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	sentences := []string{"the red cat sees the dog", "big blue bird", "the small dog likes the green cat"}
	out, err := model.Translate(sentences, 4)
	if err != nil || len(out) != 3 {
		t.Fatalf("Translate: %v %v", out, err)
	}
	// Sentences built at run time live on the Go heap: the binding must copy
	// them to C memory (cgo rejects a []string pointing into the Go heap).
	built := make([]string, len(sentences))
	for i, s := range sentences {
		built[i] = strings.Join(strings.Fields(s), " ")
	}
	if got, err := model.Translate(built, 4); err != nil || !reflect.DeepEqual(got, out) {
		t.Fatalf("Translate of heap strings: %q %v, want %q", got, err, out)
	}
	path := filepath.Join(dir, "model.mos")
	if err := model.Save(path); err != nil {
		t.Fatal(err)
	}
	model2, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := model2.Translate(sentences, 4)
	if !reflect.DeepEqual(out, out2) {
		t.Fatalf("reloaded model translates %q, want %q", out2, out)
	}
	ids1, err := model.TranslateIDs([]int32{5, 6, 7}, 1)
	ids2, _ := model2.TranslateIDs([]int32{5, 6, 7}, 1)
	if err != nil || !reflect.DeepEqual(ids1, ids2) {
		t.Fatalf("TranslateIDs %v %v %v", ids1, ids2, err)
	}
	// One thread per call (as a service translating from many goroutines
	// passes) gives the same output; a bad count is refused.
	if got, err := model.TranslateWith(sentences, TranslateOptions{Beam: 4, Threads: 1}); err != nil ||
		!reflect.DeepEqual(got, out) {
		t.Fatalf("TranslateWith(Threads 1): %q %v, want %q", got, err, out)
	}
	if got, err := model.TranslateIDsWith([]int32{5, 6, 7}, TranslateOptions{Beam: 1, Threads: 1}); err != nil ||
		!reflect.DeepEqual(got, ids1) {
		t.Fatalf("TranslateIDsWith(Threads 1): %v %v, want %v", got, err, ids1)
	}
	if _, err := model.TranslateWith(sentences, TranslateOptions{Beam: 1, Threads: -1}); !errors.Is(err,
		&Error{Status: StatusInvalidArgument}) {
		t.Fatalf("TranslateWith(Threads -1): %v", err)
	}
	// The corpus languages travel from training to the routed model's file.
	if src, err := model2.Meta("src_lang"); err != nil || src != "xx" {
		t.Fatalf("Meta(src_lang) = %q %v", src, err)
	}
	if none, err := model2.Meta("no such key"); err != nil || none != "" {
		t.Fatalf("Meta of an absent key = %q %v", none, err)
	}
	if tgt, err := net.Meta("tgt_lang"); err != nil || tgt != "yy" {
		t.Fatalf("Supernet.Meta(tgt_lang) = %q %v", tgt, err)
	}
	one, err := net.RouteThreads(best, 1)
	if err != nil || one.NumParams() != model.NumParams() {
		t.Fatalf("RouteThreads(1): %v", err)
	}
	one.Close()
	model2.Close()

	// Concurrent translation on one model equals sequential.
	want := make([][]string, len(sentences))
	for i, s := range sentences {
		want[i], _ = model.Translate([]string{s}, 1)
	}
	// Concurrent translations on one model must equal the sequential ones.
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < 6; k++ {
				i := (g + k) % len(sentences)
				got, err := model.Translate([]string{sentences[i]}, 1)
				if err != nil || len(got) != 1 {
					errs <- fmt.Errorf("goroutine %d: %q (%v)", g, got, err)
				} else if !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Errorf("goroutine %d: %q, want %q (concurrent differs from sequential)", g, got, want[i])
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	if l, err := model.MeasureLatency(5, 3, 1, 1, 3); err != nil || !(l.MeanMS > 0) {
		t.Fatalf("MeasureLatency: %+v %v", l, err)
	}

	// Error paths.
	_, err = LoadModel(filepath.Join(dir, "missing.mos"))
	var me *Error
	if !errors.As(err, &me) || me.Status != StatusIO || !strings.Contains(me.Message, "missing.mos") {
		t.Fatalf("missing model: %v", err)
	}
	other, _ := SpacePreset("small")
	defer other.Close()
	foreign, _ := ArchLargest(other)
	if _, err := net.Route(foreign); !errors.Is(err, &Error{Status: StatusOutOfRange}) {
		t.Fatalf("foreign arch: %v", err)
	}
	closed, _ := LoadModel(path)
	closed.Close()
	closed.Close()
	if _, err := closed.Translate([]string{"the cat"}, 1); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("closed model: %v", err)
	}
	var nilModel *Model
	if _, err := nilModel.Translate([]string{"x"}, 1); err == nil {
		t.Fatal("nil model translated")
	}
	if err := nilModel.Close(); err != nil {
		t.Fatalf("Close of a nil model: %v", err)
	}

	// Input the binding rejects before calling C.
	if _, err := model.Translate([]string{"the cat"}, 0); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("beam 0: %v", err)
	}
	if _, err := model.Translate([]string{"the\x00cat"}, 1); !errors.Is(err, &Error{Status: StatusInvalidArgument}) ||
		!strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL byte: %v", err)
	}
	// Empty input is judged by the library: no sentences, no translations.
	if got, err := model.Translate(nil, 1); err != nil || len(got) != 0 {
		t.Fatalf("Translate(nil): %q %v", got, err)
	}
	if got, err := model.Translate([]string{""}, 1); err != nil || len(got) != 1 {
		t.Fatalf("Translate of an empty sentence: %q %v", got, err)
	}
	if _, err := model.TranslateIDs([]int32{5, 1 << 20}, 1); !errors.Is(err, &Error{Status: StatusInvalidArgument}) &&
		!errors.Is(err, &Error{Status: StatusOutOfRange}) {
		t.Fatalf("token id beyond the vocabulary: %v", err)
	}

	// Wrong files: a model is not a supernet and a corpus is not a model.
	if _, err := LoadSupernet(path); !errors.Is(err, &Error{Status: StatusFormat}) {
		t.Fatalf("model file as a supernet: %v", err)
	}
	if _, err := LoadModel(filepath.Join(dir, "train.xx")); !errors.Is(err, &Error{Status: StatusFormat}) {
		t.Fatalf("text file as a model: %v", err)
	}
	if _, err := LoadModel(""); !errors.Is(err, &Error{Status: StatusIO}) {
		t.Fatalf("empty path: %v", err)
	}
	if err := model.Save(filepath.Join(dir, "no-such-dir", "m.mos")); !errors.Is(err, &Error{Status: StatusIO}) {
		t.Fatalf("save into a missing directory: %v", err)
	}

	// Search: budgets reach the library; impossible and malformed requests fail.
	so.BudgetsMS = []float64{1e9, 2e9}
	if _, err := Search(net, dir, so); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("budgets without a latency source: %v", err)
	}
	so.Measure = true
	two, err := Search(net, dir, so)
	if err != nil || two.Count() != 2 {
		t.Fatalf("two measured budgets: %v", err)
	}
	if _, lat, err := two.Scores(1); err != nil || !(lat > 0 && lat <= 2e9) {
		t.Fatalf("Scores(1): %v %v", lat, err)
	}
	two.Close()
	so.BudgetsMS = []float64{1e-9}
	_, err = Search(net, dir, so)
	if !errors.As(err, &me) || me.Status != StatusOutOfRange || !strings.Contains(me.Message, "smallest arch has latency") {
		t.Fatalf("impossible budget: %v", err)
	}
	so.BudgetsMS, so.Measure = nil, false
	if _, err := Search(net, filepath.Join(dir, "missing"), so); !errors.Is(err, &Error{Status: StatusIO}) {
		t.Fatalf("missing corpus: %v", err)
	}
	noLang := so
	noLang.SrcLang = ""
	if _, err := Search(net, dir, noLang); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("search without a source language: %v", err)
	}
	if _, err := Search(nil, dir, so); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("search on a nil supernet: %v", err)
	}

	// Training without a corpus directory.
	to := DefaultTrainOptions()
	to.SrcLang, to.TgtLang, to.OutPath = "xx", "yy", filepath.Join(dir, "never.mos")
	if _, err := Train(space, DefaultSupernetOptions(), to); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("training without a data directory: %v", err)
	}

	// Every handle type after Close: an error (or zero), never a crash.
	closedNet, _ := LoadSupernet(filepath.Join(dir, "net.mos"))
	closedNet.Close()
	if closedNet.NumParams() != 0 {
		t.Fatal("NumParams of a closed supernet")
	}
	if _, err := closedNet.Route(best); !errors.Is(err, &Error{Status: StatusInvalidArgument}) ||
		!strings.Contains(err.Error(), "Supernet used after Close") {
		t.Fatalf("route on a closed supernet: %v", err)
	}
	if _, err := Search(closedNet, dir, so); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("search on a closed supernet: %v", err)
	}
	if err := closedNet.Save(filepath.Join(dir, "x.mos")); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("save of a closed supernet: %v", err)
	}
	if _, err := closed.TranslateIDs([]int32{5}, 1); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("TranslateIDs on a closed model: %v", err)
	}
	if _, err := closed.MeasureLatency(5, 3, 1, 1, 3); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("MeasureLatency on a closed model: %v", err)
	}
	if closed.NumParams() != 0 {
		t.Fatal("NumParams of a closed model")
	}
	res.Close()
	if res.Count() != 0 {
		t.Fatal("Count of a closed result")
	}
	if _, err := res.Arch(0); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("Arch of a closed result: %v", err)
	}
	if _, _, err := res.Scores(0); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("Scores of a closed result: %v", err)
	}
	best.Close()
	if _, err := net.Route(best); !errors.Is(err, &Error{Status: StatusInvalidArgument}) ||
		!strings.Contains(err.Error(), "Arch used after Close") {
		t.Fatalf("route of a closed arch: %v", err)
	}
	if _, err := net.Route(nil); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("route of a nil arch: %v", err)
	}
}

// Spaces and archs need no trained supernet: presets, JSON and their errors.
func TestSpaceAndArch(t *testing.T) {
	small, err := SpacePreset("small")
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if name, err := small.Name(); err != nil || name != "small" {
		t.Fatalf("Name: %q %v", name, err)
	}
	js, err := small.JSON()
	if err != nil || !strings.HasSuffix(js, "}\n") {
		t.Fatalf("JSON: %q %v", js, err)
	}
	again, err := SpaceFromJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if j2, _ := again.JSON(); j2 != js {
		t.Fatal("space JSON round trip differs")
	}
	again.Close()

	var me *Error
	_, err = SpacePreset("nope")
	if !errors.As(err, &me) || me.Status != StatusInvalidArgument || !strings.Contains(me.Message, "small") {
		t.Fatalf("unknown preset: %v", err)
	}
	if _, err := SpaceFromJSON("{"); !errors.Is(err, &Error{Status: StatusFormat}) {
		t.Fatalf("malformed space JSON: %v", err)
	}
	if _, err := SpaceFromJSON(""); !errors.Is(err, &Error{Status: StatusFormat}) {
		t.Fatalf("empty space JSON: %v", err)
	}

	tiny, _ := SpaceFromJSON(tinySpace)
	defer tiny.Close()
	big, _ := ArchLargest(tiny)
	defer big.Close()
	bj, _ := big.JSON()
	if _, err := ArchFromJSON(tiny, "{"); !errors.Is(err, &Error{Status: StatusFormat}) {
		t.Fatalf("malformed arch JSON: %v", err)
	}
	bad := strings.Replace(bj, `"embed_dim": 16`, `"embed_dim": 14`, 1)
	if bad == bj {
		t.Fatalf("no embed_dim in %s", bj)
	}
	_, err = ArchFromJSON(tiny, bad)
	if !errors.As(err, &me) || me.Status != StatusOutOfRange || !strings.Contains(me.Message, "embed_dim") {
		t.Fatalf("arch value outside the space: %v", err)
	}
	if _, err := ArchFromJSON(small, bj); !errors.Is(err, &Error{Status: StatusOutOfRange}) {
		t.Fatalf("arch of another space: %v", err)
	}
	if _, err := big.Params(1 << 40); !errors.Is(err, &Error{Status: StatusOutOfRange}) {
		t.Fatalf("vocabulary above 2^32: %v", err)
	}
	a1, _ := ArchSample(tiny, 7)
	a2, _ := ArchSample(tiny, 7)
	j1, _ := a1.JSON()
	j2, _ := a2.JSON()
	if j1 != j2 {
		t.Fatal("the same seed gave different archs")
	}
	a1.Close()
	a2.Close()

	// Closed and nil handles.
	closed, _ := SpaceFromJSON(tinySpace)
	closed.Close()
	closed.Close()
	if _, err := closed.JSON(); !errors.Is(err, &Error{Status: StatusInvalidArgument}) ||
		!strings.Contains(err.Error(), "Space used after Close") {
		t.Fatalf("JSON of a closed space: %v", err)
	}
	if _, err := ArchLargest(closed); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("arch of a closed space: %v", err)
	}
	if _, err := ArchSmallest(nil); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("arch of a nil space: %v", err)
	}
	if _, err := NewSupernet(closed, DefaultSupernetOptions()); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("supernet of a closed space: %v", err)
	}
	gone, _ := ArchSmallest(tiny)
	gone.Close()
	if _, err := gone.Params(40); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("Params of a closed arch: %v", err)
	}

	// A fresh supernet: its options are the ones asked for.
	o := DefaultSupernetOptions()
	o.Routing, o.Experts, o.VocabSize, o.Seed = 1, 3, 50, 9
	net, err := NewSupernet(tiny, o)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	got, err := net.Options()
	if err != nil || got.Routing != 1 || got.Experts != 3 || got.VocabSize != 50 || got.Seed != 9 {
		t.Fatalf("Options: %+v %v", got, err)
	}
	if sp, err := net.Space(); err != nil {
		t.Fatal(err)
	} else if name, _ := sp.Name(); name != "tiny" {
		t.Fatalf("supernet space %q", name)
	} else {
		sp.Close()
	}
	o.Experts = 0
	if _, err := NewSupernet(tiny, o); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("0 experts: %v", err)
	}
	o.Experts, o.VocabSize, o.TokenizerPath = 2, 0, filepath.Join(t.TempDir(), "missing.model")
	if _, err := NewSupernet(tiny, o); !errors.Is(err, &Error{Status: StatusIO}) {
		t.Fatalf("missing tokenizer: %v", err)
	}
}

// The option defaults are the library's (MOS_*_OPTIONS_INIT of the headers).
func TestDefaultOptions(t *testing.T) {
	n := DefaultSupernetOptions()
	if n.Routing != 2 || n.Experts != 2 || n.RouterHidden != 128 || n.VocabSize != 0 || n.Seed != 1 ||
		n.Dropout != 0.3 || n.TokenizerPath != "" {
		t.Errorf("DefaultSupernetOptions: %+v", n)
	}
	s := DefaultSearchOptions()
	if s.Split != "valid" || s.SrcLang != "" || s.ValidSentences != 500 || s.BudgetsMS != nil ||
		s.Population != 125 || s.Parents != 25 || s.Mutations != 50 || s.Crossovers != 50 ||
		s.Iterations != 30 || s.MutationProb != 0.3 || s.Seed != 1 || s.Measure {
		t.Errorf("DefaultSearchOptions: %+v", s)
	}
	o := DefaultTrainOptions()
	if o.VocabSize != 8000 || o.MaxTokens != 4096 || o.MaxLen != 128 || o.MaxSteps != 0 || o.Warmup != 4000 ||
		o.LR != 5e-4 || o.ValidEvery != 500 || o.ValidSentences != 500 || o.Seed != 1 || o.Threads != 0 ||
		o.DataDir != "" {
		t.Errorf("DefaultTrainOptions: %+v", o)
	}
}

// Failures of serving calls from many goroutines at once: each error carries
// the message of its own call (read inside the same C call).
func TestServingErrorsFromManyGoroutines(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				name := fmt.Sprintf("missing-%d-%d.mos", g, i)
				_, err := LoadModel(filepath.Join(dir, name))
				var me *Error
				if !errors.As(err, &me) || me.Status != StatusIO || !strings.Contains(me.Message, name) {
					errs <- fmt.Sprintf("goroutine %d: %v", g, err)
					return
				}
				s, err := SpacePreset("small")
				if err != nil {
					errs <- fmt.Sprintf("goroutine %d: %v", g, err)
					return
				}
				s.Close()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The built-in supernet loads without a path and translates (docs/builtin.md).
func TestBuiltinSupernet(t *testing.T) {
	net, err := LoadBuiltinSupernet("")
	if err != nil {
		t.Fatalf("LoadBuiltinSupernet: %v", err)
	}
	defer net.Close()
	space, _ := net.Space()
	defer space.Close()
	small, _ := ArchSmallest(space)
	defer small.Close()
	model, err := net.Route(small)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	out, err := model.Translate([]string{"The waters rose fifteen cubits higher, and the mountains were covered."}, 1)
	if err != nil || len(out) != 1 || !strings.Contains(out[0], "montes") {
		t.Fatalf("built-in translation: %q %v", out, err)
	}
	if _, err := LoadBuiltinSupernet("no-such-model"); !errors.Is(err, &Error{Status: StatusIO}) {
		t.Fatalf("unknown built-in: %v", err)
	}

	// Batch translation with n-best lists and scores, in input order whatever
	// the batch limits (docs/serving.md).
	sentences := []string{"Jesus wept.", "The waters rose fifteen cubits higher, and the mountains were covered.",
		"Love one another.", "In the beginning God created the heaven and the earth."}
	opt := TranslateOptions{Beam: 4, NBest: 3, Threads: 1}
	best, err := model.TranslateWith(sentences, opt)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := model.TranslateBatch(sentences, opt)
	if err != nil || len(batch) != len(sentences) {
		t.Fatalf("TranslateBatch: %v %v", batch, err)
	}
	for i, hyps := range batch {
		if len(hyps) < 1 || len(hyps) > 3 || hyps[0].Text != best[i] {
			t.Fatalf("sentence %d: %+v, best %q", i, hyps, best[i])
		}
		for k, h := range hyps {
			if h.Score > 0 || h.LogProb > 0 || h.NumTokens < 1 || (k > 0 && h.Score > hyps[k-1].Score) {
				t.Fatalf("sentence %d hypothesis %d: %+v", i, k, hyps)
			}
		}
	}
	small1 := TranslateOptions{Beam: 4, NBest: 3, Threads: 2, MaxBatchSentences: 1, MaxBatchTokens: 8, InputOrder: true}
	again, err := model.TranslateBatch(sentences, small1)
	if err != nil || !reflect.DeepEqual(again, batch) {
		t.Fatalf("batches of one sentence: %+v %v", again, err)
	}
	greedy := TranslateOptions{Beam: 1, Threads: 1, MaxBatchSentences: 1}
	plain, err := model.TranslateBatch(sentences, greedy)
	if err != nil {
		t.Fatal(err)
	}
	greedy.DraftTokens = 5
	spec, err := model.TranslateBatch(sentences, greedy)
	if err != nil || !reflect.DeepEqual(spec, plain) {
		t.Fatalf("speculative decoding: %+v %v, plain %+v", spec, err, plain)
	}
	cut, err := model.TranslateBatch(sentences, TranslateOptions{Beam: 2, MaxLenA: 0.01, MaxLenB: 1})
	if err != nil || cut[0][0].NumTokens != 0 || cut[0][0].Text != "" {
		t.Fatalf("MaxLenB 1 leaves EOS only: %+v %v", cut, err)
	}
	if _, err := model.TranslateBatch(sentences, TranslateOptions{Beam: 2, NBest: 3}); !errors.Is(err,
		&Error{Status: StatusInvalidArgument}) || !strings.Contains(err.Error(), "nbest 3") {
		t.Fatalf("NBest above Beam: %v", err)
	}
	if _, err := model.TranslateBatch(sentences, TranslateOptions{Beam: 2, MaxBatchTokens: -1}); err == nil {
		t.Fatal("MaxBatchTokens -1 accepted")
	}

	// Precision: routed or converted, with its meta.
	if d, _ := model.DType(); d != "f32" {
		t.Fatalf("dtype %q", d)
	}
	int8m, err := net.RouteDType(small, DTypeINT8, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer int8m.Close()
	if d, _ := int8m.DType(); d != "int8" {
		t.Fatalf("routed int8: dtype %q", d)
	}
	if c, _ := int8m.ComputeDType(); c != "int8" && c != "f32" {
		t.Fatalf("compute dtype %q", c)
	}
	bf, err := model.Convert(DTypeBF16)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	if d, _ := bf.DType(); d != "bf16" {
		t.Fatalf("converted: dtype %q", d)
	}
	if out, err := bf.Translate(sentences[:1], 1); err != nil || len(out) != 1 {
		t.Fatalf("bf16 translate: %v %v", out, err)
	}
	if _, err := model.Convert(DType(7)); !errors.Is(err, &Error{Status: StatusInvalidArgument}) {
		t.Fatalf("dtype 7: %v", err)
	}
}
