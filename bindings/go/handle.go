// bindings/go/handle.go: ownership of SWIG-wrapped libmos objects. Each Go type
// of a libmos handle (mos_x, wrapped with MOS_HANDLE in swig/handles.i, named
// CX by SWIG) embeds a handle that calls the SWIG destructor DeleteCX exactly
// once, on Close.

package mos

import (
	"fmt"
	"sync"
)

// swigObject is what SWIG generates for a wrapped C struct.
type swigObject interface{ Swigcptr() uintptr }

// handle owns one SWIG object. Close is idempotent and safe from any goroutine;
// use after Close is an error instead of passing a freed pointer to C. Calls
// through use hold a read lock, so Close waits for the calls in flight and any
// number of calls may run at once.
type handle[T swigObject] struct {
	mu   sync.RWMutex
	obj  T
	live bool
	name string
	del  func(T)
}

func newHandle[T swigObject](name string, obj T, del func(T)) *handle[T] {
	h := &handle[T]{}
	h.init(name, obj, del)
	return h
}

func (h *handle[T]) init(name string, obj T, del func(T)) {
	h.obj, h.live, h.name, h.del = obj, obj.Swigcptr() != 0, name, del
}

// Close releases the C object; later calls do nothing. A nil handle is closed.
func (h *handle[T]) Close() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live {
		h.live = false
		h.del(h.obj)
	}
	return nil
}

// closedError is the error of a call on a closed (or nil) handle.
func closedError(name string) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf("%s used after Close", name)}
}

// get returns the live object, or an error naming the type after Close. The
// object may be freed by a concurrent Close once get has returned: calls into C
// go through use.
func (h *handle[T]) get() (T, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.live {
		var zero T
		return zero, closedError(h.name)
	}
	return h.obj, nil
}

// use runs f with the live object under the read lock; a nil or closed handle
// gives an error without calling f.
func (h *handle[T]) use(f func(T) error) error {
	if h == nil {
		return &Error{Status: StatusInvalidArgument, Message: "use of a nil handle"}
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.live {
		return closedError(h.name)
	}
	return f(h.obj)
}
