// bindings/go/mos_test.go: tests of the Go binding against the freshly built
// libmos. The BLEU values are the hand-derived ones of tests/capi/test_bleu.c;
// lines built at run time check that string arrays reach C without Go pointers.

package mos

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

func TestVersion(t *testing.T) {
	v := Version()
	var major, minor, patch uint32
	if n, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); n != 3 || err != nil {
		t.Fatalf("version %q is not MAJOR.MINOR.PATCH", v)
	}
	if got, want := VersionNumber(), major*10000+minor*100+patch; got != want {
		t.Errorf("VersionNumber() = %d, want %d", got, want)
	}
	if !strings.Contains(BuildInfo(), "libmos="+v) {
		t.Errorf("BuildInfo() does not name libmos=%s", v)
	}
	if !HasFeature(FeatureOpenMP) {
		t.Errorf("OpenMP feature missing")
	}
}

func TestStatusValuesMatchC(t *testing.T) {
	pairs := []struct {
		go_ Status
		c   Enum_SS_mos_status
	}{
		{StatusOK, MOS_OK}, {StatusInvalidArgument, MOS_INVALID_ARGUMENT},
		{StatusOutOfMemory, MOS_OUT_OF_MEMORY}, {StatusUnsupported, MOS_UNSUPPORTED},
		{StatusOutOfRange, MOS_OUT_OF_RANGE}, {StatusIO, MOS_IO}, {StatusFormat, MOS_FORMAT},
		{StatusVersion, MOS_VERSION}, {StatusAborted, MOS_ABORTED}, {StatusBackend, MOS_BACKEND},
		{StatusInternal, MOS_INTERNAL},
	}
	for _, p := range pairs {
		if int(p.go_) != int(p.c) {
			t.Errorf("Go status %d != C value %d", p.go_, p.c)
		}
	}
	if !strings.HasPrefix(StatusFormat.String(), "MOS_FORMAT") {
		t.Errorf("StatusFormat.String() = %q", StatusFormat.String())
	}
	if int(FeatureOpenBLAS) != int(MOS_FEATURE_OPENBLAS) {
		t.Errorf("feature values differ from C")
	}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func TestBleuValues(t *testing.T) {
	b, err := BleuCorpus([]string{"The cat sat on the mat."}, []string{"The cat sat on the mat."})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "exact match", b.Score, 100, 1e-9)
	if b.HypLen != 7 || b.Total[3] != 4 {
		t.Errorf("hyp_len %d, 4-grams %d; want 7, 4", b.HypLen, b.Total[3])
	}
	line, err := b.Format()
	if err != nil || line != "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)" {
		t.Errorf("Format() = %q, %v", line, err)
	}

	b, err = BleuCorpus([]string{"a b c d"}, []string{"a b x d"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Correct != [4]uint64{3, 1, 0, 0} || b.Total[2] != 2 {
		t.Errorf("correct %v total %v", b.Correct, b.Total)
	}
	near(t, "order-3 precision", b.Precisions[2], 25, 1e-12)
	near(t, "partial match", b.Score, math.Sqrt(1250), 1e-9)
	line, _ = b.Format()
	if line != "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)" {
		t.Errorf("Format() = %q", line)
	}

	// Lines built at run time (on the Go heap) give the same score.
	hb, err := BleuCorpus([]string{strings.Join([]string{"a", "b", "c", "d"}, " ")},
		[]string{strings.Join([]string{"a", "b", "x", "d"}, " ")})
	if err != nil || hb != b {
		t.Errorf("heap strings: %+v %v, want %+v", hb, err, b)
	}

	b, err = BleuCorpus([]string{"the cat sat on"}, []string{"the cat sat on the mat"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "brevity penalty", b.BP, math.Exp(-0.5), 1e-12)
}

func TestBleuErrors(t *testing.T) {
	_, err := BleuCorpus([]string{"a", "b"}, []string{"a"})
	var me *Error
	if !errors.As(err, &me) || me.Status != StatusInvalidArgument || !strings.Contains(me.Message, "2 hypotheses but 1 references") {
		t.Errorf("length mismatch: %v", err)
	}
	// An empty corpus passes the binding and is judged by the library.
	_, err = BleuCorpus(nil, nil)
	if err != nil && !errors.As(err, &me) {
		t.Errorf("empty corpus: %v is not a *mos.Error", err)
	}
	// A struct of an unknown version: the library's own message comes back.
	_, err = (Bleu{Score: 1}).Format()
	if err != nil {
		t.Errorf("formatting a valid score: %v", err)
	}
	s := NewBleuScore()
	defer DeleteBleuScore(s)
	s.SetVersion(99)
	err = Bleu_corpus(s, []string{"a", "a"})
	if !errors.As(err, &me) || me.Status != StatusVersion || !strings.Contains(me.Message, "mos_bleu_corpus") {
		t.Fatalf("version 99: %v", err)
	}
	if !errors.Is(err, &Error{Status: StatusVersion}) {
		t.Errorf("errors.Is does not match on the status")
	}
}

// Many goroutines failing and succeeding at once: each error must carry the
// message of its own call (the message is read inside the same C call).
func TestErrorsFromManyGoroutines(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s := NewBleuScore()
				s.SetVersion(uint(100 + g))
				err := Bleu_corpus(s, []string{"a", "a"})
				DeleteBleuScore(s)
				var me *Error
				if !errors.As(err, &me) || me.Status != StatusVersion || !strings.Contains(me.Message, fmt.Sprint(100+g)) {
					errs <- fmt.Sprintf("goroutine %d: %v", g, err)
					return
				}
				if _, err := BleuCorpus([]string{"x y"}, []string{"x y"}); err != nil {
					errs <- fmt.Sprintf("goroutine %d: %v", g, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
