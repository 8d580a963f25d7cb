// examples/go-server/main.go: a translation service over libmos in Go. It loads
// one model file at start and serves
//
//	POST /translate  {"sentences": ["..."], "beam": 4} -> {"translations": ["..."]}
//	GET  /healthz    -> {"status": "ok"}
//
// Bad requests get HTTP 400 with {"error": "..."}. The model is shared by all
// request goroutines; translations run concurrently on the one model unless -serial is given,
// because libmos 0.1 can give wrong outputs for concurrent translations
// (docs/bindings.md, "Known library problem").
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"libmos.org/mos"
)

type translateRequest struct {
	Sentences *[]string `json:"sentences"`
	Beam      *int      `json:"beam"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// newHandler serves one model; parallel lets translations run concurrently.
func newHandler(model *mos.Model, parallel bool) http.Handler {
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			fail(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/translate", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			fail(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		var req translateRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
			return
		}
		if req.Sentences == nil {
			fail(w, http.StatusBadRequest, `missing field "sentences"`)
			return
		}
		beam := 4
		if req.Beam != nil {
			beam = *req.Beam
		}
		if beam < 1 || beam > 64 {
			fail(w, http.StatusBadRequest, `"beam" must be 1..64`)
			return
		}
		if !parallel {
			mu.Lock()
		}
		out, err := model.Translate(*req.Sentences, beam)
		if !parallel {
			mu.Unlock()
		}
		if err != nil {
			var me *mos.Error
			code := http.StatusInternalServerError
			if errors.As(err, &me) && me.Status == mos.StatusInvalidArgument {
				code = http.StatusBadRequest
			}
			fail(w, code, err.Error())
			return
		}
		if out == nil {
			out = []string{}
		}
		writeJSON(w, http.StatusOK, map[string][]string{"translations": out})
	})
	return mux
}

func main() {
	modelPath := flag.String("model", "", "model file (mos_model_save output)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	serial := flag.Bool("serial", false, "translate one request at a time (the model itself is safe to share)")
	flag.Parse()
	if *modelPath == "" {
		log.Fatal("-model is required")
	}
	model, err := mos.LoadModel(*modelPath)
	if err != nil {
		log.Fatalf("loading %s: %v", *modelPath, err)
	}
	defer model.Close()
	srv := &http.Server{Addr: *addr, Handler: newHandler(model, !*serial)}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Close()
	}()
	log.Printf("serving %s on %s", *modelPath, *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
