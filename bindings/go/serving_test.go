// bindings/go/serving_test.go: the serving flow through the Go binding on a
// checkpoint made here with Train (toy word-by-word corpus, 5 steps of a tiny
// space): search, route, translate, save/load, concurrent translation from
// goroutines on one model, and error paths.

package mos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
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
	model2.Close()

	// Concurrent translation on one model equals sequential.
	want := make([][]string, len(sentences))
	for i, s := range sentences {
		want[i], _ = model.Translate([]string{s}, 1)
	}
	// Concurrent translations on one model must equal the sequential ones.
	strict := true
	var differ int32
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
					atomic.AddInt32(&differ, 1)
					if strict {
						errs <- fmt.Errorf("goroutine %d: %q, want %q", g, got, want[i])
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if differ > 0 {
		t.Logf("warning: %d of 24 concurrent translations differ from the sequential ones", differ)
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
}
