/* examples/java-server/test/org/libmos/JavaServerTest.java: makes a model with
 * libmos (ServingTest.train: toy corpus, 5 training steps of a tiny space; then
 * route of the largest arch and save), starts TranslateServer in a child JVM on
 * a free loopback port, and talks HTTP to it: translations, concurrent requests,
 * malformed JSON and missing fields (400, server still answering), then stops it;
 * then a second server with a batch window under concurrent requests of mixed
 * beam widths, each answer compared with that request translated alone. */
package org.libmos;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

public final class JavaServerTest {
  private static int checks = 0;
  private static int failures = 0;

  static void check(boolean ok, String what) {
    checks++;
    if (!ok) {
      failures++;
      System.err.println("FAIL: " + what);
    }
  }

  static HttpResponse<String> post(HttpClient c, String url, String body) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return c.send(r, HttpResponse.BodyHandlers.ofString());
  }

  static String expectedJson(String[] want) {
    StringBuilder b = new StringBuilder("{\"translations\": [");
    for (int k = 0; k < want.length; k++)
      b.append(k > 0 ? ", " : "").append('"').append(want[k].replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    return b.append("]}").toString();
  }

  /** A server with a 20 ms batch window under 48 concurrent requests of mixed beam widths:
   *  every answer equals that request translated alone. */
  static void batched(String javaCmd, Path modelPath) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    Process server = new ProcessBuilder(javaCmd, "-Djava.library.path=" + System.getProperty("java.library.path"),
        "-cp", System.getProperty("java.class.path"), "org.libmos.examples.TranslateServer",
        "--model", modelPath.toString(), "--port", Integer.toString(port), "--batch-window-ms", "20",
        "--batch-sentences", "24", "--threads", "16")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
    try {
      HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      String base = "http://127.0.0.1:" + port;
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (true) {
        try {
          if (c.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                     HttpResponse.BodyHandlers.ofString()).statusCode() == 200) break;
        } catch (java.io.IOException e) {
          // not listening yet
        }
        if (System.nanoTime() > deadline || !server.isAlive()) throw new AssertionError("batching server did not start");
        Thread.sleep(50);
      }
      String[] words = "red blue green cat dog bird sees likes big small the".split(" ");
      List<String[]> sent = new ArrayList<>();
      List<Integer> beams = new ArrayList<>();
      List<CompletableFuture<HttpResponse<String>>> jobs = new ArrayList<>();
      for (int i = 0; i < 48; i++) {
        String[] ss = new String[1 + i % 3];
        for (int k = 0; k < ss.length; k++) {
          StringBuilder w = new StringBuilder();
          for (int m = 0; m < 2 + (i + k) % 5; m++) w.append(m > 0 ? " " : "").append(words[(i * 7 + k * 3 + m) % words.length]);
          ss[k] = w.toString();
        }
        int beam = 1 + i % 3;
        StringBuilder body = new StringBuilder("{\"sentences\": [");
        for (int k = 0; k < ss.length; k++) body.append(k > 0 ? ", " : "").append('"').append(ss[k]).append('"');
        body.append("], \"beam\": ").append(beam).append('}');
        sent.add(ss);
        beams.add(beam);
        jobs.add(c.sendAsync(HttpRequest.newBuilder(URI.create(base + "/translate"))
            .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(), HttpResponse.BodyHandlers.ofString()));
      }
      try (Model m = Model.load(modelPath.toString())) {
        for (int i = 0; i < jobs.size(); i++) {
          HttpResponse<String> x = jobs.get(i).get();
          String want = expectedJson(m.translate(sent.get(i), beams.get(i), 1));
          check(x.statusCode() == 200 && x.body().equals(want), "batched request " + i + ": " + x.body() + " want " + want);
        }
      }
    } finally {
      server.destroy();
      server.waitFor();
    }
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("mos-java-server");
    ServingTest.train(dir);
    Path modelPath = dir.resolve("model.mos");
    try (Supernet net = Supernet.load(dir.resolve("net.mos").toString()); Space space = net.space();
         Arch arch = Arch.largest(space); Model model = net.route(arch)) {
      model.save(modelPath.toString());
    }
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    Process server = new ProcessBuilder(java, "-Djava.library.path=" + System.getProperty("java.library.path"),
        "-cp", System.getProperty("java.class.path"), "org.libmos.examples.TranslateServer",
        "--model", modelPath.toString(), "--port", Integer.toString(port))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT).start();
    try {
      HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      String base = "http://127.0.0.1:" + port;
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (true) {
        try {
          HttpResponse<String> r = c.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
              HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) break;
        } catch (java.io.IOException e) {
          // not listening yet
        }
        if (System.nanoTime() > deadline || !server.isAlive()) throw new AssertionError("server did not start");
        Thread.sleep(50);
      }
      HttpResponse<String> r = post(c, base + "/translate", "{\"sentences\": [\"the red cat\", \"big dog\"], \"beam\": 2}");
      check(r.statusCode() == 200 && r.body().startsWith("{\"translations\": ["), "translate: " + r.body());
      String[] want;
      try (Model m = Model.load(modelPath.toString())) {
        want = m.translate(new String[] {"the red cat"}, 2);
      }
      String expected = "{\"translations\": [\"" + want[0].replace("\\", "\\\\").replace("\"", "\\\"") + "\"]}";
      List<CompletableFuture<HttpResponse<String>>> jobs = new ArrayList<>();
      for (int k = 0; k < 8; k++) {
        jobs.add(c.sendAsync(HttpRequest.newBuilder(URI.create(base + "/translate"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"sentences\": [\"the red cat\"], \"beam\": 2}")).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
      for (CompletableFuture<HttpResponse<String>> f : jobs) {
        HttpResponse<String> x = f.get();
        check(x.statusCode() == 200 && x.body().equals(expected), "concurrent: " + x.body() + " want " + expected);
      }
      for (String bad : new String[] {"{\"sentences\": [\"a\"", "{\"beam\": 2}", "{\"sentences\": \"x\"}",
                                      "{\"sentences\": [\"a\"], \"beam\": 0}", "[1, 2]", ""}) {
        HttpResponse<String> x = post(c, base + "/translate", bad);
        check(x.statusCode() == 400 && x.body().startsWith("{\"error\": "), bad + " -> " + x.statusCode() + " " + x.body());
      }
      check(post(c, base + "/translate", "{\"sentences\": [\"the cat\"]}").statusCode() == 200,
          "server answers after bad requests");
    } finally {
      server.destroy();
      server.waitFor();
    }
    batched(java, modelPath);
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
    }
    Files.deleteIfExists(dir);
    System.out.println("JavaServerTest: " + checks + " checks, " + failures + " failures");
    System.exit(failures == 0 ? 0 : 1);
  }
}
