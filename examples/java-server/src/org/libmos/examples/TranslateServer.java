/* examples/java-server/src/org/libmos/examples/TranslateServer.java: a
 * translation service over libmos with com.sun.net.httpserver. It loads one
 * model file at start and serves
 *   POST /translate  {"sentences": ["..."], "beam": 4} -> {"translations": ["..."]}
 *   GET  /healthz    -> {"status": "ok"}
 * Bad requests get HTTP 400 with {"error": "..."}. The model is shared by the
 * request threads; translations run concurrently on the one model unless --serial is given,
 * because libmos 0.1 can give wrong outputs for concurrent translations
 * (docs/bindings.md, "Known library problem").
 * With --batch-window-ms N (0, the default, is off) requests arriving within N ms of the
 * first waiting one (or until --batch-sentences are waiting) are translated in one
 * Model.translateBatch call per beam width and answered each with its own
 * translations (examples/README.md).
 *   java -Djava.library.path=DIR -cp mos.jar:java-server.jar \
 *        org.libmos.examples.TranslateServer --model PATH [--port N] [--threads N] [--serial]
 *        [--batch-window-ms N] [--batch-sentences N] */
package org.libmos.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.libmos.Model;
import org.libmos.MosException;
import org.libmos.Status;
import org.libmos.TranslateOptions;
import org.libmos.Translations;

public final class TranslateServer {
  /** A malformed request: becomes HTTP 400. */
  static final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;
    BadRequest(String m) { super(m); }
  }

  /** A small JSON reader (RFC 8259 values) for the request bodies. */
  static final class Json {
    private final String s;
    private int i;
    private Json(String s) { this.s = s; }

    static Object parse(String text) throws BadRequest {
      Json p = new Json(text);
      Object v = p.value();
      p.ws();
      if (p.i != p.s.length()) throw p.err("trailing characters");
      return v;
    }

    private BadRequest err(String what) { return new BadRequest("malformed JSON at offset " + i + ": " + what); }
    private void ws() { while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++; }
    private boolean eat(char c) { ws(); if (i < s.length() && s.charAt(i) == c) { i++; return true; } return false; }
    private void expect(char c) throws BadRequest { if (!eat(c)) throw err("expected '" + c + "'"); }

    private Object value() throws BadRequest {
      ws();
      if (i >= s.length()) throw err("unexpected end");
      char c = s.charAt(i);
      if (c == '{') {
        i++;
        Map<String, Object> m = new LinkedHashMap<>();
        if (eat('}')) return m;
        do {
          ws();
          if (i >= s.length() || s.charAt(i) != '"') throw err("expected a key");
          String k = string();
          expect(':');
          m.put(k, value());
        } while (eat(','));
        expect('}');
        return m;
      }
      if (c == '[') {
        i++;
        List<Object> l = new ArrayList<>();
        if (eat(']')) return l;
        do l.add(value()); while (eat(','));
        expect(']');
        return l;
      }
      if (c == '"') return string();
      for (String lit : new String[] {"true", "false", "null"}) {
        if (s.startsWith(lit, i)) {
          i += lit.length();
          return lit.equals("null") ? null : Boolean.valueOf(lit);
        }
      }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
      if (start == i) throw err("unexpected character '" + c + "'");
      try {
        return Double.valueOf(s.substring(start, i));
      } catch (NumberFormatException e) {
        throw err("bad number");
      }
    }

    private String string() throws BadRequest {
      i++; // opening quote
      StringBuilder b = new StringBuilder();
      while (true) {
        if (i >= s.length()) throw err("unterminated string");
        char c = s.charAt(i++);
        if (c == '"') return b.toString();
        if (c < 0x20) throw err("control character in string");
        if (c != '\\') { b.append(c); continue; }
        if (i >= s.length()) throw err("unterminated escape");
        char e = s.charAt(i++);
        switch (e) {
          case '"': case '\\': case '/': b.append(e); break;
          case 'b': b.append('\b'); break;
          case 'f': b.append('\f'); break;
          case 'n': b.append('\n'); break;
          case 'r': b.append('\r'); break;
          case 't': b.append('\t'); break;
          case 'u':
            if (i + 4 > s.length()) throw err("short \\u escape");
            try {
              b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            } catch (NumberFormatException x) {
              throw err("bad \\u escape");
            }
            i += 4;
            break;
          default: throw err("bad escape");
        }
      }
    }

    static String quote(String v) {
      StringBuilder b = new StringBuilder("\"");
      for (char c : v.toCharArray()) {
        if (c == '"' || c == '\\') b.append('\\').append(c);
        else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
        else b.append(c);
      }
      return b.append('"').toString();
    }
  }

  /** Merges the requests of one window into one call per beam width, on its own thread. */
  static final class Batcher {
    private static final class Req {
      final String[] sentences;
      final int beam;
      final CompletableFuture<String[]> done = new CompletableFuture<>();

      Req(String[] sentences, int beam) {
        this.sentences = sentences;
        this.beam = beam;
      }
    }

    private final Model model;
    private final long windowNanos;
    private final int maxSentences;
    private final LinkedBlockingQueue<Req> queue = new LinkedBlockingQueue<>();

    Batcher(Model model, long windowMs, int maxSentences) {
      this.model = model;
      this.windowNanos = TimeUnit.MILLISECONDS.toNanos(windowMs);
      this.maxSentences = maxSentences;
      Thread t = new Thread(this::loop, "mos-batcher");
      t.setDaemon(true);
      t.start();
    }

    String[] translate(String[] sentences, int beam) throws InterruptedException {
      Req r = new Req(sentences, beam);
      queue.add(r);
      try {
        return r.done.get();
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException) throw (RuntimeException) e.getCause();
        throw new IllegalStateException(e.getCause());
      }
    }

    private void loop() {
      while (true) {
        List<Req> pending = new ArrayList<>();
        try {
          Req first = queue.take();
          pending.add(first);
          int n = first.sentences.length;
          long deadline = System.nanoTime() + windowNanos;
          while (n < maxSentences) {
            long left = deadline - System.nanoTime();
            Req r = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : null;
            if (r == null) break;
            pending.add(r);
            n += r.sentences.length;
          }
        } catch (InterruptedException e) {
          return;
        }
        Map<Integer, List<Req>> byBeam = new LinkedHashMap<>();
        for (Req r : pending) byBeam.computeIfAbsent(r.beam, b -> new ArrayList<>()).add(r);
        for (Map.Entry<Integer, List<Req>> g : byBeam.entrySet()) run(g.getKey(), g.getValue());
      }
    }

    private void run(int beam, List<Req> reqs) {
      List<String> all = new ArrayList<>();
      for (Req r : reqs) all.addAll(Arrays.asList(r.sentences));
      TranslateOptions o = new TranslateOptions().beam(beam).maxBatchSentences(Math.min(maxSentences, 4096));
      try (Translations t = model.translateBatch(all.toArray(new String[0]), o)) {
        int k = 0;
        for (Req r : reqs) {
          String[] out = new String[r.sentences.length];
          for (int i = 0; i < out.length; i++) out[i] = t.text(k++, 0);
          r.done.complete(out);
        }
      } catch (RuntimeException e) {
        // One request must not fail the others: answer each on its own.
        for (Req r : reqs) {
          try {
            r.done.complete(model.translate(r.sentences, r.beam));
          } catch (RuntimeException x) {
            r.done.completeExceptionally(x);
          }
        }
      }
    }
  }

  private final Model model;
  private final boolean parallel;
  private final Batcher batcher; // null: no batching
  private final Object lock = new Object();

  TranslateServer(Model model, boolean parallel, long batchWindowMs, int batchSentences) {
    this.model = model;
    this.parallel = parallel;
    this.batcher = batchWindowMs > 0 ? new Batcher(model, batchWindowMs, batchSentences) : null;
  }

  String[] translate(String[] sentences, int beam) throws InterruptedException {
    if (batcher != null) return batcher.translate(sentences, beam);
    // Many request threads at once: one compute thread per call, so that the
    // calls do not fight over the cores (docs/threading.md).
    if (parallel) return model.translate(sentences, beam, 1);
    synchronized (lock) {
      return model.translate(sentences, beam);
    }
  }

  static void send(HttpExchange ex, int code, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(code, body.length);
    try (OutputStream o = ex.getResponseBody()) {
      o.write(body);
    }
  }

  static String error(String msg) { return "{\"error\": " + Json.quote(msg) + "}"; }

  void healthz(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("GET")) send(ex, 405, error("use GET"));
    else send(ex, 200, "{\"status\": \"ok\"}");
  }

  /** Parses a request body into (sentences, beam) or throws BadRequest. */
  static Object[] request(String body) throws BadRequest {
    Object v = Json.parse(body);
    if (!(v instanceof Map)) throw new BadRequest("the body must be a JSON object");
    Map<?, ?> m = (Map<?, ?>) v;
    if (!m.containsKey("sentences")) throw new BadRequest("missing field \"sentences\"");
    if (!(m.get("sentences") instanceof List)) throw new BadRequest("\"sentences\" must be a list of strings");
    List<?> l = (List<?>) m.get("sentences");
    String[] sentences = new String[l.size()];
    for (int k = 0; k < sentences.length; k++) {
      if (!(l.get(k) instanceof String)) throw new BadRequest("\"sentences\"[" + k + "] is not a string");
      sentences[k] = (String) l.get(k);
    }
    int beam = 4;
    if (m.containsKey("beam")) {
      Object b = m.get("beam");
      if (!(b instanceof Double) || (Double) b != Math.rint((Double) b) || (Double) b < 1 || (Double) b > 64)
        throw new BadRequest("\"beam\" must be an integer 1..64");
      beam = ((Double) b).intValue();
    }
    return new Object[] {sentences, beam};
  }

  void translate(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("POST")) {
      send(ex, 405, error("use POST"));
      return;
    }
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    try {
      Object[] r = request(body);
      String[] out = translate((String[]) r[0], (Integer) r[1]);
      StringBuilder b = new StringBuilder("{\"translations\": [");
      for (int k = 0; k < out.length; k++) b.append(k > 0 ? ", " : "").append(Json.quote(out[k]));
      send(ex, 200, b.append("]}").toString());
    } catch (BadRequest e) {
      send(ex, 400, error(e.getMessage()));
    } catch (MosException e) {
      send(ex, e.status() == Status.MOS_INVALID_ARGUMENT ? 400 : 500, error(e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      send(ex, 503, error("interrupted while waiting for a batch"));
    }
  }

  public static void main(String[] args) throws Exception {
    String modelPath = null;
    int port = 8080, threads = 4, batchSentences = 32;
    long batchWindowMs = 0;
    boolean parallel = true;
    for (int k = 0; k < args.length; k++) {
      String a = args[k];
      if (a.equals("--serial")) {
        parallel = false;
        continue;
      }
      if (k + 1 >= args.length) { System.err.println("missing value of " + a); System.exit(2); }
      switch (a) {
        case "--model": modelPath = args[++k]; break;
        case "--port": port = Integer.parseInt(args[++k]); break;
        case "--threads": threads = Integer.parseInt(args[++k]); break;
        case "--batch-window-ms": batchWindowMs = Long.parseLong(args[++k]); break;
        case "--batch-sentences": batchSentences = Integer.parseInt(args[++k]); break;
        default: System.err.println("unknown argument " + a); System.exit(2);
      }
    }
    if (modelPath == null || batchWindowMs < 0 || batchSentences < 1) {
      System.err.println("usage: TranslateServer --model PATH [--port N] [--threads N] [--serial] "
          + "[--batch-window-ms N >= 0] [--batch-sentences N >= 1]");
      System.exit(2);
    }
    Model model;
    try {
      model = Model.load(modelPath);
    } catch (MosException e) {
      System.err.println(e.getMessage());
      System.exit(1);
      return;
    }
    TranslateServer s = new TranslateServer(model, parallel, batchWindowMs, batchSentences);
    HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    http.createContext("/healthz", s::healthz);
    http.createContext("/translate", s::translate);
    http.setExecutor(Executors.newFixedThreadPool(threads));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      http.stop(0);
      model.close();
    }));
    http.start();
    System.err.println("serving " + modelPath + " on 127.0.0.1:" + port);
  }
}
