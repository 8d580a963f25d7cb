// examples/go-server/main.go: a translation service over libmos in Go. It loads
// one model file at start and serves
//
//	POST /translate  {"sentences": ["..."], "beam": 4} -> {"translations": ["..."]}
//	GET  /healthz    -> {"status": "ok"}
//
// Every request is bounded before any work is done for it:
//   - the body may hold at most -max-body bytes (413, read no further than that);
//   - it must be valid UTF-8 holding exactly one JSON object with no unknown or
//     repeated keys and nothing after it, and no \u escape of a lone surrogate
//     (400 with a message);
//   - at most -max-sentences sentences of at most -max-chars characters each
//     (413); the library cuts sources to 256 tokens and decodes at most
//     source length + 10 tokens, so these caps bound the decoding work too;
//   - "beam" is 1..64 (400).
//
// Any valid UTF-8 text is accepted. An empty (or all-space) sentence is
// answered with "" at once, without running the model.
//
// Translations run on -workers goroutines, each locked to its own OS thread:
// libmos allocates a workspace per call, and the OpenMP runtime keeps a thread
// team per calling OS thread, so letting every request goroutine call into C
// from whatever thread it happens to run on grew the process by gigabytes
// that were never returned. With a fixed set of calling threads the memory
// stays at what -workers concurrent translations need (main_test.go measures
// it). The model itself is safe to share (docs/threading.md).
//
// Batching (-batch-window, -batch-sentences): requests that arrive within the
// window of the first one waiting (or until their sentences reach the batch
// limit) are translated in one library call per beam width and answered each
// with its own translations; a sentence's translation does not depend on the
// batch it is in (docs/serving.md). While every worker is busy, requests keep
// queueing and the next batch takes them all. -batch-window 0 (the default:
// it did not raise throughput measurably on the 2-core machine, see
// examples/README.md) turns it off.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"libmos.org/mos"
)

// Limits bound what one request may ask for.
type Limits struct {
	MaxBody      int64 // bytes of request body
	MaxSentences int   // sentences per request
	MaxChars     int   // characters (Unicode scalar values) per sentence
}

type translateRequest struct {
	Sentences *[]string `json:"sentences"`
	Beam      *int      `json:"beam"`
}

// Batching merges concurrent requests into one translation call.
type Batching struct {
	Window       time.Duration // how long the first request waits for others; 0 = off
	MaxSentences int           // sentences per merged call (a larger request goes alone)
}

type job struct {
	sentences []string
	beam      int
	done      chan result
	parts     []job // a merged job: the requests it answers, in order
}

type result struct {
	out []string
	err error
}

// Server serves one model with a fixed pool of translating threads.
type Server struct {
	model    *mos.Model
	limits   Limits
	batching Batching
	incoming chan job // requests (the batcher's input, or jobs itself)
	jobs     chan job // what the workers translate
}

// NewServer starts `workers` translating goroutines, each on its own OS
// thread, and with b.Window > 0 the batcher in front of them.
func NewServer(model *mos.Model, limits Limits, workers int, b Batching) *Server {
	if workers < 1 {
		workers = 1
	}
	if b.MaxSentences < 1 {
		b.MaxSentences = 32
	}
	s := &Server{model: model, limits: limits, batching: b, jobs: make(chan job)}
	s.incoming = s.jobs
	if b.Window > 0 {
		s.incoming = make(chan job)
		go s.batcher()
	}
	for i := 0; i < workers; i++ {
		go s.worker()
	}
	return s
}

// batcher collects the requests of one window (or up to the sentence limit)
// and hands the workers one merged job per beam width, in arrival order.
func (s *Server) batcher() {
	defer close(s.jobs)
	for first := range s.incoming {
		pending := []job{first}
		n := len(first.sentences)
		timer := time.NewTimer(s.batching.Window)
	collect:
		for n < s.batching.MaxSentences {
			select {
			case j, ok := <-s.incoming:
				if !ok {
					break collect
				}
				pending = append(pending, j)
				n += len(j.sentences)
			case <-timer.C:
				break collect
			}
		}
		timer.Stop()
		var beams []int
		groups := map[int][]job{}
		for _, j := range pending {
			if _, seen := groups[j.beam]; !seen {
				beams = append(beams, j.beam)
			}
			groups[j.beam] = append(groups[j.beam], j)
		}
		for _, beam := range beams {
			m := job{beam: beam, parts: groups[beam]}
			for _, p := range m.parts {
				m.sentences = append(m.sentences, p.sentences...)
			}
			s.jobs <- m
		}
	}
}

func (s *Server) worker() {
	// Never unlocked: the thread serves libmos calls for the life of the process.
	runtime.LockOSThread()
	for j := range s.jobs {
		if j.parts == nil {
			out, err := s.model.Translate(j.sentences, j.beam)
			j.done <- result{out, err}
			continue
		}
		// One call for the merged requests, cut into batches of at most the
		// batch limit by the library.
		out, err := s.model.TranslateWith(j.sentences,
			mos.TranslateOptions{Beam: j.beam, MaxBatchSentences: s.batching.MaxSentences})
		if err != nil {
			// One request must not fail the others: answer each on its own.
			for _, p := range j.parts {
				o, e := s.model.Translate(p.sentences, p.beam)
				p.done <- result{o, e}
			}
			continue
		}
		k := 0
		for _, p := range j.parts {
			p.done <- result{out[k : k+len(p.sentences)], nil}
			k += len(p.sentences)
		}
	}
}

// Close stops the batcher and the workers once they finish their current
// translation.
func (s *Server) Close() { close(s.incoming) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// Handler serves /translate and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			fail(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/translate", s.translate)
	return mux
}

func (s *Server) translate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		fail(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	lim := s.limits
	if r.ContentLength > lim.MaxBody {
		fail(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body of %d bytes is over the limit of %d", r.ContentLength, lim.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, lim.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is over the limit of %d bytes", lim.MaxBody))
		} else {
			fail(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		}
		return
	}
	req, err := parseRequest(body)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Sentences == nil {
		fail(w, http.StatusBadRequest, `missing field "sentences"`)
		return
	}
	sentences := *req.Sentences
	beam := 4
	if req.Beam != nil {
		beam = *req.Beam
	}
	if beam < 1 || beam > 64 {
		fail(w, http.StatusBadRequest, `"beam" must be 1..64`)
		return
	}
	if len(sentences) > lim.MaxSentences {
		fail(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("%d sentences; the limit is %d per request", len(sentences), lim.MaxSentences))
		return
	}
	out := make([]string, len(sentences))
	var todo []string
	var where []int
	for i, text := range sentences {
		if n := utf8.RuneCountInString(text); n > lim.MaxChars {
			fail(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("sentence %d has %d characters; the limit is %d", i, n, lim.MaxChars))
			return
		}
		if strings.IndexByte(text, 0) >= 0 {
			fail(w, http.StatusBadRequest, fmt.Sprintf("sentence %d contains a NUL character", i))
			return
		}
		// Nothing to translate: answered without running the model.
		if strings.TrimSpace(text) == "" {
			continue
		}
		todo = append(todo, text)
		where = append(where, i)
	}
	if len(todo) > 0 {
		done := make(chan result, 1)
		select {
		case s.incoming <- job{sentences: todo, beam: beam, done: done}:
		case <-r.Context().Done():
			return // the client left while the request waited for a worker
		}
		res := <-done
		if res.err != nil {
			var me *mos.Error
			code := http.StatusInternalServerError
			if errors.As(res.err, &me) && me.Status == mos.StatusInvalidArgument {
				code = http.StatusBadRequest
			}
			fail(w, code, res.err.Error())
			return
		}
		for k, i := range where {
			out[i] = res.out[k]
		}
	}
	writeJSON(w, http.StatusOK, map[string][]string{"translations": out})
}

// parseRequest decodes a body that must be valid UTF-8 and exactly one JSON
// object with no unknown or repeated keys and no lone-surrogate escapes.
func parseRequest(body []byte) (translateRequest, error) {
	var req translateRequest
	if !utf8.Valid(body) {
		return req, fmt.Errorf("request body is not valid UTF-8 (byte %d)", firstInvalidUTF8(body))
	}
	if at := loneSurrogateEscape(body); at >= 0 {
		return req, fmt.Errorf(`malformed JSON: the \u escape at byte %d is a lone UTF-16 surrogate`, at)
	}
	if err := duplicateKeys(body); err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, errors.New("malformed JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, errors.New("malformed JSON: data after the JSON object")
	}
	return req, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogateEscape returns the offset of a \uD800-\uDFFF escape inside a
// JSON string that is not a high surrogate followed by a low one, or -1.
// encoding/json would turn it into U+FFFD without a word.
func loneSurrogateEscape(b []byte) int {
	hex4 := func(i int) int {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return -1
		}
		v := 0
		for _, c := range b[i+2 : i+6] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | int(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | int(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | int(c-'A'+10)
			default:
				return -1
			}
		}
		return v
	}
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			v := hex4(i)
			switch {
			case v >= 0xD800 && v <= 0xDBFF:
				if lo := hex4(i + 6); lo < 0xDC00 || lo > 0xDFFF {
					return i
				}
				i += 11
			case v >= 0xDC00 && v <= 0xDFFF:
				return i
			default:
				i++ // the escaped character (or the 'u' of a plain \u escape)
			}
		}
	}
	return -1
}

// duplicateKeys reports a key repeated within one JSON object (encoding/json
// keeps the last silently), naming it. Syntax errors are left to the decoder.
func duplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // an object expects a key next
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].expect {
			if key, ok := tok.(string); ok {
				if stack[top].keys[key] {
					return fmt.Errorf("malformed JSON: duplicate key %q", key)
				}
				stack[top].keys[key] = true
				stack[top].expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		}
		// A value ended: the enclosing object expects a key again.
		if n := len(stack) - 1; n >= 0 && stack[n].object {
			stack[n].expect = true
		}
	}
}

func main() {
	modelPath := flag.String("model", "", "model file (mos_model_save output)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	workers := flag.Int("workers", runtime.NumCPU(), "translations run at once, each on its own thread")
	serial := flag.Bool("serial", false, "translate one request at a time (same as -workers 1)")
	maxBody := flag.Int64("max-body", 1<<20, "largest request body in bytes")
	maxSentences := flag.Int("max-sentences", 64, "most sentences per request")
	maxChars := flag.Int("max-chars", 1000, "most characters per sentence")
	window := flag.Duration("batch-window", 0,
		"requests arriving within this time of the first waiting one are translated in one call, e.g. 5ms; "+
			"0 = off (examples/README.md has measurements)")
	batchSentences := flag.Int("batch-sentences", 32, "most sentences merged into one call")
	flag.Parse()
	if *modelPath == "" {
		log.Fatal("-model is required")
	}
	if *serial {
		*workers = 1
	}
	model, err := mos.LoadModel(*modelPath)
	if err != nil {
		log.Fatalf("loading %s: %v", *modelPath, err)
	}
	defer model.Close()
	if *window < 0 || *batchSentences < 1 || *batchSentences > 4096 {
		log.Fatal("-batch-window must be >= 0 and -batch-sentences 1..4096")
	}
	s := NewServer(model, Limits{MaxBody: *maxBody, MaxSentences: *maxSentences, MaxChars: *maxChars}, *workers,
		Batching{Window: *window, MaxSentences: *batchSentences})
	srv := &http.Server{Addr: *addr, Handler: s.Handler()}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	log.Printf("serving %s on %s with %d workers, batch window %v", *modelPath, *addr, *workers, *window)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
