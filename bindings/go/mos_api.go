// bindings/go/mos_api.go: the idiomatic Go layer of the libmos binding for
// mos/base.h and BLEU, over the SWIG-generated wrappers (mos.go and mos_wrap.c,
// generated from bindings/swig/mos.i), and the small functions serving.go shares.
// The package has no hand-written cgo: every C call goes through SWIG.
//
// Threading follows docs/threading.md: the functions of this file are safe from
// any goroutine. Handles (serving.go) are released with Close.

package mos

//go:generate swig -go -cgo -intgosize 64 -package mos -I../../include -I../../build/include -outdir . -o mos_wrap.c ../swig/mos.i

import (
	"bytes"
	"fmt"
)

// Feature is a CPU or build feature that can be queried at run time.
type Feature int32

const (
	FeatureAVX2     Feature = 1
	FeatureAVX512   Feature = 2
	FeatureBF16     Feature = 3
	FeatureOpenMP   Feature = 4
	FeatureOneDNN   Feature = 5
	FeatureOpenBLAS Feature = 6
)

// Version is the libmos version string ("0.1.0").
func Version() string { return Version_string() }

// VersionNumber is MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() uint32 { return uint32(Version_number()) }

// BuildInfo lists facts of this build and machine as "key=value" lines.
func BuildInfo() string { return Build_info() }

// HasFeature reports whether the feature is present.
func HasFeature(f Feature) bool { return Has_feature(Enum_SS_mos_feature(f)) != 0 }

// Bleu is a corpus BLEU result (mos_bleu_score), copied into Go memory.
type Bleu struct {
	Score      float64    // BLEU, 0..100
	Precisions [4]float64 // n-gram precisions in percent, after smoothing
	BP         float64    // brevity penalty
	Ratio      float64    // HypLen / RefLen
	HypLen     uint64
	RefLen     uint64
	Correct    [4]uint64 // clipped n-gram matches per order
	Total      [4]uint64 // hypothesis n-grams per order
}

// BleuCorpus computes sacreBLEU-compatible corpus BLEU of hyps against refs
// (line i against line i).
func BleuCorpus(hyps, refs []string) (Bleu, error) {
	if len(hyps) != len(refs) {
		return Bleu{}, &Error{Status: StatusInvalidArgument,
			Message: fmt.Sprintf("BleuCorpus: %d hypotheses but %d references", len(hyps), len(refs))}
	}
	s := NewBleuScore()
	if err := allocated(s, "BleuCorpus"); err != nil {
		return Bleu{}, err
	}
	defer DeleteBleuScore(s)
	lines := make([]string, 0, 2*len(hyps))
	lines = append(append(lines, hyps...), refs...)
	if err := Bleu_corpus(s, lines); err != nil {
		return Bleu{}, err
	}
	b := Bleu{Score: s.GetScore(), BP: s.GetBp(), Ratio: s.GetRatio(), HypLen: s.GetHyp_len(), RefLen: s.GetRef_len()}
	for k := 0; k < 4; k++ {
		b.Precisions[k] = s.Precision(k + 1)
		b.Correct[k] = s.Correct_at(k + 1)
		b.Total[k] = s.Total_at(k + 1)
	}
	return b, nil
}

// Format is sacreBLEU's score line for b
// ("BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)").
func (b Bleu) Format() (string, error) {
	s := NewBleuScore()
	if err := allocated(s, "Bleu.Format"); err != nil {
		return "", err
	}
	defer DeleteBleuScore(s)
	s.SetScore(b.Score)
	s.SetBp(b.BP)
	s.SetRatio(b.Ratio)
	s.SetHyp_len(b.HypLen)
	s.SetRef_len(b.RefLen)
	for k := 0; k < 4; k++ {
		s.Set_precision(k+1, b.Precisions[k])
		s.Set_correct_at(k+1, b.Correct[k])
		s.Set_total_at(k+1, b.Total[k])
	}
	return readText(func(buf []byte, needed *int) error { return Bleu_format(buf, needed, s) })
}

// readText reads a text through the (buf, cap, needed) convention of the C
// API: the size with a nil buffer first, then the text into a buffer of that
// size (up to its NUL).
func readText(f func(buf []byte, needed *int) error) (string, error) {
	var needed int
	if err := f(nil, &needed); err != nil && !isStatus(err, StatusOutOfRange) {
		return "", err
	}
	if needed < 1 {
		needed = 1
	}
	buf := make([]byte, needed)
	if err := f(buf, nil); err != nil {
		return "", err
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf), nil
}

// allocated reports a SWIG constructor whose calloc failed (a NULL object) as
// MOS_OUT_OF_MEMORY.
func allocated(o swigObject, what string) error {
	if o.Swigcptr() == 0 {
		return &Error{Status: StatusOutOfMemory, Message: fmt.Sprintf("%s: out of memory", what)}
	}
	return nil
}

// mustAllocate is allocated for functions without an error result: like a
// failed Go allocation, it panics.
func mustAllocate(o swigObject, what string) {
	if err := allocated(o, what); err != nil {
		panic(err)
	}
}
