// bindings/go/errors.go: libmos statuses as Go errors. The message of a failed
// call is read by mos_last_error() inside the same C call (in the SWIG "out"
// typemap of mos.i, for every wrapped function), never afterwards: a goroutine
// may run on another OS thread by the time a second C call starts.

package mos

import (
	"errors"
	"strconv"
	"strings"
)

// Status is a libmos status code (mos_status); the values are the C values,
// stable and append-only.
type Status int32

const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = 1
	StatusOutOfMemory     Status = 2
	StatusUnsupported     Status = 3
	StatusOutOfRange      Status = 4
	StatusIO              Status = 5
	StatusFormat          Status = 6
	StatusVersion         Status = 7
	StatusAborted         Status = 8
	StatusBackend         Status = 9
	StatusInternal        Status = 10
)

// String is the library's name and description of the status
// ("MOS_FORMAT: malformed file").
func (s Status) String() string { return Status_str(int(s)) }

// Error is the error of a failed libmos call: its status and the library's
// message naming the function and the offending value.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	name := e.Status.String()
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	return name + ": " + e.Message
}

// Is makes errors.Is(err, &mos.Error{Status: mos.StatusIO}) match on the status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// statusError turns the "<status>:<message>" string built by the C side of a
// call into an error; the empty string means MOS_OK.
func statusError(s string) error {
	if s == "" {
		return nil
	}
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return &Error{Status: StatusInternal, Message: "malformed status from the binding: " + s}
	}
	code, err := strconv.Atoi(s[:i])
	if err != nil {
		return &Error{Status: StatusInternal, Message: "malformed status from the binding: " + s}
	}
	return &Error{Status: Status(code), Message: s[i+1:]}
}

// isStatus reports whether err is a libmos error with status st.
func isStatus(err error, st Status) bool {
	var me *Error
	return errors.As(err, &me) && me.Status == st
}
