// examples/go-server/main_test.go: builds the server, makes a model with libmos
// (toy corpus, 5 training steps of a tiny space, mos_route of the largest arch,
// mos_model_save), starts the server on a free loopback port and talks HTTP to
// it: translations, concurrent requests, malformed JSON and missing fields
// (400, and the server still answers), then stops it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"libmos.org/mos"
)

const tinySpace = `{"format":"mos-space","version":1,"name":"tiny","qkv_dim":16,
 "encoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"heads":[2,4]},
 "decoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"self_heads":[2,4],
 "cross_heads":[2,4],"cross_k":[1]}}`

func makeModel(t *testing.T, dir string) string {
	src := strings.Fields("red blue green cat dog bird sees likes big small the")
	tgt := strings.Fields("rojo azul verde gato perro pajaro ve gusta grande chico el")
	seed := uint64(5)
	next := func() int { seed = seed*6364136223846793005 + 1442695040888963407; return int(seed >> 33) }
	for split, n := range map[string]int{"train": 300, "valid": 40, "test": 40} {
		var xs, ys strings.Builder
		for i := 0; i < n; i++ {
			var a, b []string
			for k := 3 + next()%4; k > 0; k-- {
				w := next() % len(src)
				a, b = append(a, src[w]), append(b, tgt[w])
			}
			fmt.Fprintln(&xs, strings.Join(a, " "))
			fmt.Fprintln(&ys, strings.Join(b, " "))
		}
		os.WriteFile(filepath.Join(dir, split+".xx"), []byte(xs.String()), 0o644)
		os.WriteFile(filepath.Join(dir, split+".yy"), []byte(ys.String()), 0o644)
	}
	space, err := mos.SpaceFromJSON(tinySpace)
	if err != nil {
		t.Fatal(err)
	}
	defer space.Close()
	o := mos.DefaultTrainOptions()
	o.DataDir, o.SrcLang, o.TgtLang, o.OutPath = dir, "xx", "yy", filepath.Join(dir, "net.mos")
	o.VocabSize, o.MaxSteps, o.MaxTokens, o.MaxLen, o.Warmup = 40, 5, 256, 32, 2
	o.ValidEvery, o.ValidSentences, o.Threads = 5, 20, 1
	net, err := mos.Train(space, mos.DefaultSupernetOptions(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	arch, _ := mos.ArchLargest(space)
	model, err := net.Route(arch)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	path := filepath.Join(dir, "model.mos")
	if err := model.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("response is not JSON: %q", raw)
	}
	return resp.StatusCode, v
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "go-server")
	build := exec.Command(os.Getenv("GO"), "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	modelPath := makeModel(t, dir)
	addr := freePort(t)
	srv := exec.Command(bin, "-model", modelPath, "-addr", addr)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	code, v := post(t, base+"/translate", `{"sentences": ["the red cat", "big dog sees the bird"], "beam": 2}`)
	if code != 200 {
		t.Fatalf("translate: %d %v", code, v)
	}
	tr, ok := v["translations"].([]any)
	if !ok || len(tr) != 2 {
		t.Fatalf("translations: %v", v)
	}
	// The same sentence alone gives the same translation, from 8 concurrent clients.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, r := post(t, base+"/translate", `{"sentences": ["the red cat"], "beam": 2}`)
			if got, _ := r["translations"].([]any); c != 200 || len(got) != 1 || got[0] != tr[0] {
				t.Errorf("concurrent: %d %v, want %v", c, r, tr[0])
			}
		}()
	}
	wg.Wait()
	for _, bad := range []string{`{"sentences": ["a"`, `{"beam": 2}`, `{"sentences": "not a list"}`, `{"sentences": ["a"], "beam": 0}`} {
		code, v := post(t, base+"/translate", bad)
		if msg, _ := v["error"].(string); code != 400 || msg == "" {
			t.Errorf("%s: %d %v, want 400 with an error", bad, code, v)
		}
	}
	if code, _ := post(t, base+"/translate", `{"sentences": ["the cat"]}`); code != 200 {
		t.Fatalf("server stopped answering after bad requests: %d", code)
	}
}
