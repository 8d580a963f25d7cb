/* examples/java-server/test/org/libmos/JavaServerTest.java: makes a model with
 * libmos (ServingTest.train: toy corpus, 5 training steps of a tiny space; then
 * route of the largest arch and save), starts TranslateServer in a child JVM on
 * a free loopback port, and talks HTTP to it: translations, concurrent requests,
 * malformed JSON and missing fields (400, server still answering), then stops it. */
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
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
    }
    Files.deleteIfExists(dir);
    System.out.println("JavaServerTest: " + checks + " checks, " + failures + " failures");
    System.exit(failures == 0 ? 0 : 1);
  }
}
