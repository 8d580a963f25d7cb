// bindings/go/handle.go: ownership of SWIG-wrapped libmos objects. Each Go type
// of a libmos handle (mos_x, wrapped with MOS_HANDLE in swig/handles.i) embeds a
// handle that calls the SWIG destructor DeleteX exactly once, on Close.

package mos

import (
	"fmt"
	"sync"
)

// swigObject is what SWIG generates for a wrapped C struct.
type swigObject interface{ Swigcptr() uintptr }

// handle owns one SWIG object. Close is idempotent and safe from any goroutine;
// get reports use after Close as an error instead of passing a freed pointer.
type handle[T swigObject] struct {
	mu   sync.Mutex
	obj  T
	live bool
	name string
	del  func(T)
}

func newHandle[T swigObject](name string, obj T, del func(T)) *handle[T] {
	return &handle[T]{obj: obj, live: obj.Swigcptr() != 0, name: name, del: del}
}

// Close releases the C object; later calls do nothing.
func (h *handle[T]) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live {
		h.live = false
		h.del(h.obj)
	}
	return nil
}

// get returns the live object, or an error naming the type after Close.
func (h *handle[T]) get() (T, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.live {
		var zero T
		return zero, &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf("%s used after Close", h.name)}
	}
	return h.obj, nil
}
