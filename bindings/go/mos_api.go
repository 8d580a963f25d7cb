// bindings/go/mos_api.go: the idiomatic Go layer of the libmos binding, over the
// SWIG-generated wrappers (mos.go and mos_wrap.c, generated from
// bindings/swig/mos.i) and a few cgo shims.
//
// Threading follows docs/threading.md: the functions of this file are safe from
// any goroutine. Handles (added with later headers) are used by one goroutine at
// a time unless their documentation says otherwise, and are released with Close.

package mos

//go:generate swig -go -cgo -intgosize 64 -package mos -I../../include -I../../build/include -outdir . -o mos_wrap.c ../swig/mos.i

/*
#include <stdlib.h>
#include <string.h>
#include "mos/mos.h"

// Formats a score; on failure copies mos_last_error() into msg in this same
// call, so that the message belongs to this call whatever thread runs next.
static mos_status mos_go_bleu_format(const mos_bleu_score *s, char *buf, size_t cap,
                                     size_t *needed, char *msg, size_t msgcap) {
    mos_status st = mos_bleu_format(s, buf, cap, needed);
    if (st != MOS_OK && msgcap > 0) {
        strncpy(msg, mos_last_error(), msgcap - 1);
        msg[msgcap - 1] = '\0';
    }
    return st;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
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
	var c C.mos_bleu_score
	C.mos_bleu_score_init(&c)
	c.score = C.double(b.Score)
	c.bp = C.double(b.BP)
	c.ratio = C.double(b.Ratio)
	c.hyp_len = C.uint64_t(b.HypLen)
	c.ref_len = C.uint64_t(b.RefLen)
	for k := 0; k < 4; k++ {
		c.precisions[k] = C.double(b.Precisions[k])
		c.correct[k] = C.uint64_t(b.Correct[k])
		c.total[k] = C.uint64_t(b.Total[k])
	}
	var msg [512]C.char
	var needed C.size_t
	st := C.mos_go_bleu_format(&c, nil, 0, &needed, &msg[0], C.size_t(len(msg)))
	if st != C.MOS_OK && st != C.MOS_OUT_OF_RANGE {
		return "", &Error{Status: Status(st), Message: C.GoString(&msg[0])}
	}
	buf := make([]byte, int(needed))
	st = C.mos_go_bleu_format(&c, (*C.char)(unsafe.Pointer(&buf[0])), needed, nil, &msg[0], C.size_t(len(msg)))
	if st != C.MOS_OK {
		return "", &Error{Status: Status(st), Message: C.GoString(&msg[0])}
	}
	return string(buf[:len(buf)-1]), nil
}
