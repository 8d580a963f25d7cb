// examples/go-server/main_test.go: builds the server, makes a model with libmos
// (toy corpus, 5 training steps of a tiny space, mos_route of the largest arch,
// mos_model_save), starts the server on a free loopback port and talks HTTP to
// it: translations, concurrent requests, malformed JSON and missing fields
// (400, and the server still answers); the request limits (413 for a body,
// sentence count or sentence length over its cap, also without reading a long
// body), trailing data, repeated keys, invalid UTF-8 and lone surrogates (400),
// empty sentences answered at once, text in many scripts accepted; and the
// server's resident memory and thread count over a few thousand concurrent
// requests (they must level off once the workers are warm). A second test
// runs the server with a batch window under concurrent load and holds merged
// answers to each request translated alone; a third (on demand) measures
// throughput with batching on and off.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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

// buildServer builds this example into dir and returns the binary's path.
func buildServer(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "go-server")
	build := exec.Command(os.Getenv("GO"), "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

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

// procStatus reads a "Name:  value kB" field of /proc/PID/status as a number.
func procStatus(t *testing.T, pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, field+":") {
			v, err := strconv.Atoi(strings.Fields(strings.TrimPrefix(line, field+":"))[0])
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

func postRaw(t *testing.T, url string, body io.Reader, length int64) (int, map[string]any) {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
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

// endless is a request body that never ends: only a server that stops reading
// at its limit can answer it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	bin := buildServer(t, dir)
	modelPath := makeModel(t, dir)
	addr := freePort(t)
	srv := exec.Command(bin, "-model", modelPath, "-addr", addr, "-workers", "2",
		"-max-body", "65536", "-max-sentences", "32", "-max-chars", "200")
	srv.Stderr = os.Stderr
	// Four OpenMP threads per translation: the OpenMP runtime keeps a team of
	// threads for every OS thread that ever calls in, which the thread count
	// below must not show.
	srv.Env = append(os.Environ(), "OMP_NUM_THREADS=4")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	base := "http://" + addr
	url := base + "/translate"
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
	pid := srv.Process.Pid
	rssStart, threadsStart := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "Threads")

	code, v := post(t, url, `{"sentences": ["the red cat", "big dog sees the bird"], "beam": 2}`)
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
			c, r := post(t, url, `{"sentences": ["the red cat"], "beam": 2}`)
			if got, _ := r["translations"].([]any); c != 200 || len(got) != 1 || got[0] != tr[0] {
				t.Errorf("concurrent: %d %v, want %v", c, r, tr[0])
			}
		}()
	}
	wg.Wait()

	// Malformed requests: 400 with a message naming the problem.
	for _, bad := range []struct{ body, want string }{
		{`{"sentences": ["a"`, "malformed JSON"},
		{`{"beam": 2}`, "missing field"},
		{`{"sentences": "not a list"}`, "malformed JSON"},
		{`{"sentences": ["a"], "beam": 0}`, "beam"},
		{`{"sentences": ["a"], "colour": 1}`, "unknown field"},
		{`{"sentences": ["a"]}{"x": 1}`, "data after the JSON object"},
		{`{"sentences": ["a"]} [1]`, "data after the JSON object"},
		{`{"sentences": ["a"], "sentences": ["b"]}`, `duplicate key "sentences"`},
		{"{\"sentences\": [\"caf\xe9\"]}", "not valid UTF-8 (byte 19)"},
		{"{\"sentences\": [\"\xed\xa0\x80\"]}", "not valid UTF-8"},
		{`{"sentences": ["\ud83d"]}`, "lone UTF-16 surrogate"},
		{`{"sentences": ["\udc00x"]}`, "lone UTF-16 surrogate"},
		{`{"sentences": ["a\u0000b"]}`, "NUL"},
	} {
		code, v := post(t, url, bad.body)
		if msg, _ := v["error"].(string); code != 400 || !strings.Contains(msg, bad.want) {
			t.Errorf("%q: %d %v, want 400 with %q", bad.body, code, v, bad.want)
		}
	}
	// A surrogate pair escape is fine.
	if code, v := post(t, url, `{"sentences": ["\ud83d\ude00 cat"]}`); code != 200 {
		t.Errorf("surrogate pair: %d %v", code, v)
	}

	// Limits: 413, also for a body that never ends (the server stops reading).
	big := `{"sentences": ["` + strings.Repeat("a ", 40000) + `"]}`
	if code, v := post(t, url, big); code != 413 || !strings.Contains(fmt.Sprint(v["error"]), "65536") {
		t.Errorf("large body: %d %v", code, v)
	}
	e := &endless{}
	if code, v := postRaw(t, url, e, -1); code != 413 {
		t.Errorf("endless body: %d %v", code, v)
	}
	// e.n counts what the client wrote, which includes what the kernel
	// buffers on both ends of the loopback connection (several MB each with
	// autotuning): 4 MB was seen on a quiet machine. A server that read the
	// body would take the stream without end.
	if e.n > 32<<20 {
		t.Errorf("the client got %d bytes of an endless body away before the answer", e.n)
	}
	many := `{"sentences": [` + strings.Repeat(`"a",`, 32) + `"a"]}`
	if code, v := post(t, url, many); code != 413 || !strings.Contains(fmt.Sprint(v["error"]), "33 sentences") {
		t.Errorf("too many sentences: %d %v", code, v)
	}
	long := `{"sentences": ["ok", "` + strings.Repeat("猫", 201) + `"]}`
	if code, v := post(t, url, long); code != 413 ||
		!strings.Contains(fmt.Sprint(v["error"]), "sentence 1 has 201 characters") {
		t.Errorf("long sentence: %d %v", code, v)
	}
	atLimit := `{"sentences": ["` + strings.Repeat("猫", 200) + `"], "beam": 1}`
	if code, v := post(t, url, atLimit); code != 200 {
		t.Errorf("sentence at the limit: %d %v", code, v)
	}

	// Empty sentences are answered at once, in place.
	t0 := time.Now()
	code, v = post(t, url, `{"sentences": ["", "  ", "\t"]}`)
	if got, _ := v["translations"].([]any); code != 200 || len(got) != 3 || got[0] != "" || got[1] != "" || got[2] != "" {
		t.Errorf("empty sentences: %d %v", code, v)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("empty sentences took %v", d)
	}
	code, v = post(t, url, `{"sentences": ["", "the red cat", ""], "beam": 2}`)
	if got, _ := v["translations"].([]any); code != 200 || len(got) != 3 || got[0] != "" || got[1] != tr[0] || got[2] != "" {
		t.Errorf("mixed empty sentences: %d %v, want [\"\" %q \"\"]", code, v, tr[0])
	}
	if code, v := post(t, url, `{"sentences": []}`); code != 200 {
		t.Errorf("no sentences: %d %v", code, v)
	}

	// Any valid UTF-8 is accepted, whatever the script.
	scripts := []string{"猫が好きです。", "我喜欢猫", "고양이를 좋아해요", "أحب القطط", "मुझे बिल्लियाँ पसंद हैं",
		"Я люблю кошек", "Μου αρέσουν οι γάτες", "ฉันชอบแมว", "😀👍🏽👨‍👩‍👧", "e\u0301 n\u0303", "\u200f\u202e x",
		"\ufeff\ufffd\uffff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "the cat 猫 🐈"}
	payload, _ := json.Marshal(map[string]any{"sentences": scripts, "beam": 2})
	code, v = post(t, url, string(payload))
	if got, _ := v["translations"].([]any); code != 200 || len(got) != len(scripts) {
		t.Errorf("scripts: %d %v", code, v)
	}
	for i, s := range scripts {
		one, _ := json.Marshal(map[string]any{"sentences": []string{s}, "beam": 1})
		if code, v := post(t, url, string(one)); code != 200 {
			t.Errorf("script %d %q: %d %v", i, s, code, v)
		}
	}
	if code, _ := post(t, url, `{"sentences": ["the cat"]}`); code != 200 {
		t.Fatalf("server stopped answering after bad requests: %d", code)
	}

	// Memory: warm the workers up, then a few thousand requests from 16
	// clients; resident memory and threads must level off, and the threads
	// must be those of the 2 workers' OpenMP teams, not one team per request
	// thread (the server before this test had 80 threads here, up from 8).
	hammer := func(n int) {
		var wg sync.WaitGroup
		next := make(chan int)
		for c := 0; c < 16; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					body := fmt.Sprintf(`{"sentences": ["the red cat", "%s", "big dog %d"], "beam": %d}`,
						scripts[i%len(scripts)], i, 1+i%4)
					if c, r := post(t, url, body); c != 200 {
						t.Errorf("request %d: %d %v", i, c, r)
					}
				}
			}()
		}
		for i := 0; i < n; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	hammer(300)
	rss0, threads0 := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "Threads")
	hammer(3000)
	rss1, threads1 := procStatus(t, pid, "VmRSS"), procStatus(t, pid, "Threads")
	t.Logf("server at start: %d kB resident, %d threads; after 300 requests: %d kB, %d threads; "+
		"after 3300: %d kB, %d threads", rssStart, threadsStart, rss0, threads0, rss1, threads1)
	if rss1 > rss0+rss0/4+16384 {
		t.Errorf("resident memory grew from %d kB to %d kB over 3000 requests", rss0, rss1)
	}
	if threads1 > threads0+4 || threads1 > threadsStart+2*4+8 {
		t.Errorf("threads: %d at start, %d after 300 requests, %d after 3300", threadsStart, threads0, threads1)
	}
}

// startServer builds nothing: it runs bin on a free port with args and waits
// until it is healthy; the caller kills it.
func startServer(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	addr := freePort(t)
	srv := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			srv.Process.Kill()
			srv.Wait()
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return srv, base + "/translate"
}

// Batching under concurrent load: 16 clients send distinct requests of mixed
// beam widths to a server with a long window, so that requests are merged;
// every answer must equal what the model gives that request alone, in order.
func TestBatchingUnderConcurrentLoad(t *testing.T) {
	dir := t.TempDir()
	bin := buildServer(t, dir)
	modelPath := makeModel(t, dir)
	srv, url := startServer(t, bin, "-model", modelPath, "-workers", "2", "-batch-window", "20ms",
		"-batch-sentences", "24")
	defer func() { srv.Process.Kill(); srv.Wait() }()
	model, err := mos.LoadModel(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	words := strings.Fields("red blue green cat dog bird sees likes big small the")
	request := func(i int) ([]string, int) {
		n := 1 + i%3
		var ss []string
		for k := 0; k < n; k++ {
			var w []string
			for m := 0; m < 2+(i+k)%5; m++ {
				w = append(w, words[(i*7+k*3+m)%len(words)])
			}
			ss = append(ss, strings.Join(w, " "))
		}
		return ss, 1 + i%3
	}
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	merged := 0
	for c := 0; c < 16; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ss, beam := request(i)
				body, _ := json.Marshal(map[string]any{"sentences": ss, "beam": beam})
				t0 := time.Now()
				code, v := post(t, url, string(body))
				if time.Since(t0) >= 15*time.Millisecond {
					mu.Lock()
					merged++ // waited in a window with others
					mu.Unlock()
				}
				want, err := model.TranslateWith(ss, mos.TranslateOptions{Beam: beam, Threads: 1})
				if err != nil {
					t.Errorf("request %d alone: %v", i, err)
					continue
				}
				got, _ := v["translations"].([]any)
				if code != 200 || len(got) != len(want) {
					t.Errorf("request %d: %d %v", i, code, v)
					continue
				}
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("request %d sentence %d: %q, alone %q", i, k, got[k], want[k])
					}
				}
			}
		}()
	}
	for i := 0; i < 400; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d of 400 requests waited in a batch window", merged)
	if merged == 0 {
		t.Errorf("no request waited in a window: batching is not on")
	}
}

// Throughput of concurrent clients with batching on and off, on the built-in
// supernet's smallest subnet (MOS_SERVER_BENCH_ARCH=largest: its largest),
// real sentences. Run on demand, it prints
// requests/s: MOS_SERVER_BENCH=1 (and optionally MOS_SERVER_BENCH_CLIENTS,
// _REQUESTS, _ROUNDS; examples/README.md has the figures).
func TestBatchingThroughput(t *testing.T) {
	if os.Getenv("MOS_SERVER_BENCH") == "" {
		t.Skip("set MOS_SERVER_BENCH=1 to measure")
	}
	dir := t.TempDir()
	bin := buildServer(t, dir)
	net, err := mos.LoadBuiltinSupernet("")
	if err != nil {
		t.Fatal(err)
	}
	space, _ := net.Space()
	arch, _ := mos.ArchSmallest(space)
	if os.Getenv("MOS_SERVER_BENCH_ARCH") == "largest" {
		arch.Close()
		arch, _ = mos.ArchLargest(space)
	}
	model, err := net.Route(arch)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "builtin-smallest.mos")
	if err := model.Save(modelPath); err != nil {
		t.Fatal(err)
	}
	model.Close()
	arch.Close()
	space.Close()
	net.Close()
	sentences := []string{"And God said, Let there be light: and there was light.", "Jesus wept.",
		"The Lord is my shepherd; I shall not want.", "Love one another.",
		"In the beginning God created the heaven and the earth.", "Blessed are the meek: for they shall inherit the earth.",
		"And the evening and the morning were the first day.", "He said unto them, Go ye into all the world."}
	clients, requests := 32, 400
	if v, err := strconv.Atoi(os.Getenv("MOS_SERVER_BENCH_CLIENTS")); err == nil && v > 0 {
		clients = v
	}
	if v, err := strconv.Atoi(os.Getenv("MOS_SERVER_BENCH_REQUESTS")); err == nil && v > 0 {
		requests = v
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("MOS_SERVER_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	run := func(window string) float64 {
		srv, url := startServer(t, bin, "-model", modelPath, "-batch-window", window, "-workers",
			strconv.Itoa(runtime.NumCPU()))
		defer func() { srv.Process.Kill(); srv.Wait() }()
		next := make(chan int)
		var wg sync.WaitGroup
		t0 := time.Now()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					body, _ := json.Marshal(map[string]any{"sentences": []string{sentences[i%len(sentences)]}, "beam": 4})
					if code, v := post(t, url, string(body)); code != 200 {
						t.Errorf("request %d: %d %v", i, code, v)
					}
				}
			}()
		}
		for i := 0; i < requests; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		return float64(requests) / time.Since(t0).Seconds()
	}
	best := map[string]float64{}
	for round := 0; round < rounds; round++ {
		for _, w := range []string{"0", "5ms"} {
			r := run(w)
			t.Logf("round %d, batch window %s: %.1f requests/s", round, w, r)
			if r > best[w] {
				best[w] = r
			}
		}
	}
	t.Logf("%d clients, %d one-sentence requests, beam 4, best of %d: window 0 (off) %.1f requests/s, "+
		"window 5ms %.1f requests/s", clients, requests, rounds, best["0"], best["5ms"])
}
