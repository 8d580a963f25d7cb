// bindings/go/handle_test.go: the handle ownership helper on a real SWIG object
// (the C mos_bleu_score that NewBleuScore allocates).

package mos

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestHandleClosesOnce(t *testing.T) {
	deletes := 0
	h := newHandle("BleuScore", NewBleuScore(), func(s BleuScore) {
		deletes++
		DeleteBleuScore(s)
	})
	s, err := h.get()
	if err != nil {
		t.Fatal(err)
	}
	if err := Bleu_corpus(s, []string{"a b c d", "a b c d"}); err != nil || math.Abs(s.GetScore()-100) > 1e-9 {
		t.Fatalf("score through the handle: %v, %v", s.GetScore(), err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if deletes != 1 {
		t.Errorf("destructor ran %d times, want 1", deletes)
	}
	_, err = h.get()
	var me *Error
	if !errors.As(err, &me) || me.Status != StatusInvalidArgument || !strings.Contains(me.Message, "BleuScore used after Close") {
		t.Errorf("use after Close: %v", err)
	}
}
