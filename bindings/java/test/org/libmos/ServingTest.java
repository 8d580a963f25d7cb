/* bindings/java/test/org/libmos/ServingTest.java: the serving flow through the
 * Java binding on a checkpoint made here with Mos.train (toy word-by-word
 * corpus, 5 steps of a tiny space): search, route, translate, save/load,
 * concurrent translation from threads on one model, error paths, and the
 * initial values of TrainOptions / SearchOptions (the library's defaults). */
package org.libmos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public final class ServingTest {
  static final String TINY_SPACE = "{\"format\":\"mos-space\",\"version\":1,\"name\":\"tiny\",\"qkv_dim\":16,"
      + "\"encoder\":{\"embed_dim\":[12,16],\"layers\":[1,2],\"ffn_dim\":[8,16],\"heads\":[2,4]},"
      + "\"decoder\":{\"embed_dim\":[12,16],\"layers\":[1,2],\"ffn_dim\":[8,16],\"self_heads\":[2,4],"
      + "\"cross_heads\":[2,4],\"cross_k\":[1]}}";
  static final String[] SRC = "red blue green cat dog bird sees likes big small the".split(" ");
  static final String[] TGT = "rojo azul verde gato perro pajaro ve gusta grande chico el".split(" ");

  private static int checks = 0;
  private static int failures = 0;

  static synchronized void check(boolean ok, String what) {
    checks++;
    if (!ok) {
      failures++;
      System.err.println("FAIL: " + what);
    }
  }

  /** Writes split.xx / split.yy of the toy dictionary, seeded. */
  static void writeCorpus(Path dir) throws Exception {
    long[] seed = {9};
    String[][] splits = {{"train", "300"}, {"valid", "40"}, {"test", "40"}};
    for (String[] sp : splits) {
      StringBuilder xs = new StringBuilder(), ys = new StringBuilder();
      for (int i = 0; i < Integer.parseInt(sp[1]); i++) {
        int len = 3 + next(seed) % 4;
        for (int k = 0; k < len; k++) {
          int w = next(seed) % SRC.length;
          xs.append(k > 0 ? " " : "").append(SRC[w]);
          ys.append(k > 0 ? " " : "").append(TGT[w]);
        }
        xs.append('\n');
        ys.append('\n');
      }
      Files.writeString(dir.resolve(sp[0] + ".xx"), xs);
      Files.writeString(dir.resolve(sp[0] + ".yy"), ys);
    }
  }

  static int next(long[] seed) {
    seed[0] = seed[0] * 6364136223846793005L + 1442695040888963407L;
    return (int) (seed[0] >>> 33);
  }

  /** Trains the tiny supernet into dir/net.mos. */
  static void train(Path dir) throws Exception {
    writeCorpus(dir);
    TrainOptions o = new TrainOptions();
    o.dataDir = dir.toString();
    o.srcLang = "xx";
    o.tgtLang = "yy";
    o.outPath = dir.resolve("net.mos").toString();
    o.vocabSize = 40;
    o.maxSteps = 5;
    o.maxTokens = 256;
    o.maxLen = 32;
    o.warmup = 2;
    o.validEvery = 5;
    o.validSentences = 20;
    o.threads = 1;
    int[] steps = {0};
    try (Space space = Space.fromJson(TINY_SPACE);
         Supernet net = Mos.train(space, o, (event, step, max, loss, lr, msg) -> {
           if (event == 1) steps[0]++;
           return true;
         })) {
      check(net.numParams() > 0, "trained supernet has parameters");
      check(net.hasTokenizer(), "trained supernet carries its tokenizer");
    }
    check(steps[0] == 5, "one STEP report per update, got " + steps[0]);
  }

  /** A listener returning false stops training with MOS_ABORTED; one that throws
   *  stops it with its own exception. */
  static void trainStops(Path dir) {
    TrainOptions o = new TrainOptions();
    o.dataDir = dir.toString();
    o.srcLang = "xx";
    o.tgtLang = "yy";
    o.outPath = dir.resolve("stopped.mos").toString();
    o.vocabSize = 40;
    o.maxSteps = 5;
    o.maxTokens = 256;
    o.maxLen = 32;
    o.warmup = 2;
    o.threads = 1;
    try (Space space = Space.fromJson(TINY_SPACE)) {
      check(statusOf(() -> Mos.train(space, o, (e, step, max, loss, lr, msg) -> e != 1).close())
          == Status.MOS_ABORTED, "listener returning false aborts training");
      try {
        Mos.train(space, o, (e, step, max, loss, lr, msg) -> { throw new IllegalStateException("stop here"); });
        check(false, "a throwing listener stops training");
      } catch (IllegalStateException e) {
        check(e.getMessage().equals("stop here"), "the listener's exception reaches the caller");
      }
    }
  }

  /** TrainOptions and SearchOptions start at MOS_TRAIN_OPTIONS_INIT /
   *  MOS_SEARCH_OPTIONS_INIT, read from the library's structs. */
  static void defaults() {
    TrainOptions t = new TrainOptions();
    check(t.vocabSize == 8000 && t.maxTokens == 4096 && t.maxLen == 128 && t.maxSteps == 0 && t.maxSeconds == 0
        && t.warmup == 4000 && t.lr == 5e-4f && t.validEvery == 500 && t.validSentences == 500 && t.seed == 1
        && t.threads == 0, "TrainOptions defaults");
    check(t.dataDir == null && t.srcLang == null && t.outPath == null && t.resumePath == null,
        "TrainOptions paths start unset");
    SearchOptions s = new SearchOptions();
    check("valid".equals(s.split) && s.srcLang == null && s.tgtLang == null && s.validSentences == 500
        && s.budgetsMs == null && s.maxParams == 0 && s.maxFlops == 0 && s.predictorPath == null && !s.measure
        && s.population == 125 && s.parents == 25 && s.mutations == 50 && s.crossovers == 50
        && s.iterations == 30 && s.mutationProb == 0.3 && s.seed == 1, "SearchOptions defaults");
    // The same values as a struct the library initialises now.
    CTrainOptions c = new CTrainOptions();
    check(c.getVocab_size() == t.vocabSize && c.getWarmup() == t.warmup && c.getLr() == t.lr,
        "TrainOptions reads CTrainOptions");
    c.delete();
    // A string set on the options struct is owned by it (copied, freed on delete).
    CSearchOptions cs = new CSearchOptions();
    cs.setSplit("test");
    cs.setSrc_lang(null);
    check("test".equals(cs.getSplit()) && cs.getSrc_lang() == null, "CSearchOptions owns its strings");
    cs.delete();
  }

  static Status statusOf(Runnable r) {
    try {
      r.run();
      return Status.MOS_OK;
    } catch (MosException e) {
      check(!e.getMessage().isEmpty(), "exception has a message");
      return e.status();
    }
  }

  /** The built-in supernet: found without a path, its checksum verified (docs/builtin.md). */
  static void builtin() throws Exception {
    try (Supernet net = Supernet.loadBuiltin(""); Space space = net.space(); Arch small = Arch.smallest(space);
         Model model = net.route(small)) {
      String[] out = model.translate(new String[] {"The waters rose fifteen cubits higher, and the mountains were covered."}, 1);
      check(out.length == 1 && out[0].contains("montes"), "built-in translation: " + Arrays.toString(out));
      batch(net, small, model);
    }
    try (Supernet none = Supernet.loadBuiltin("no-such-model")) {
      check(false, "an unknown built-in loads");
    } catch (MosException e) {
      check(e.getMessage().contains("not installed"), "unknown built-in: " + e.getMessage());
    }
  }

  /** Batch translation with n-best lists and scores, and model precision (docs/serving.md). */
  static void batch(Supernet net, Arch small, Model model) {
    String[] sentences = {"Jesus wept.", "The waters rose fifteen cubits higher, and the mountains were covered.",
                          "Love one another.", "In the beginning God created the heaven and the earth."};
    TranslateOptions o = new TranslateOptions().beam(4).nbest(3).threads(1);
    check(new TranslateOptions().maxBatchSentences() == 32 && new TranslateOptions().nbest() == 1,
          "TranslateOptions start at the library's defaults");
    String[] best = model.translate(sentences, 4, 1);
    String[][] firstRun = new String[sentences.length][];
    try (Translations t = model.translateBatch(sentences, o)) {
      check(t.count() == sentences.length, "one result per sentence");
      for (int i = 0; i < sentences.length; i++) {
        int nb = (int) t.nbest(i);
        check(nb >= 1 && nb <= 3, "n-best count " + nb);
        check(t.text(i, 0).equals(best[i]), "first hypothesis equals translate: " + t.text(i, 0));
        firstRun[i] = new String[nb];
        for (int k = 0; k < nb; k++) {
          firstRun[i][k] = t.text(i, k);
          check(t.score(i, k) <= 0 && t.logprob(i, k) <= 0 && t.numTokens(i, k) > 0, "scores of " + i + "," + k);
          if (k > 0) check(t.score(i, k) <= t.score(i, k - 1), "n-best sorted by score");
        }
      }
      try {
        t.text(9, 0);
        check(false, "sentence index 9 accepted");
      } catch (MosException e) {
        check(e.getMessage().contains("sentence index 9"), "index error: " + e.getMessage());
      }
    }
    TranslateOptions small1 = new TranslateOptions().beam(4).nbest(3).threads(2).maxBatchSentences(1)
        .maxBatchTokens(8).sortByLength(false);
    try (Translations t = model.translateBatch(sentences, small1)) {
      boolean same = true;
      for (int i = 0; i < sentences.length; i++)
        for (int k = 0; k < firstRun[i].length; k++) same &= t.text(i, k).equals(firstRun[i][k]);
      check(same, "batches of one sentence give the same n-best lists, in input order");
    }
    TranslateOptions greedy = new TranslateOptions().beam(1).threads(1).maxBatchSentences(1);
    try (Translations a = model.translateBatch(sentences, greedy);
         Translations b = model.translateBatch(sentences, greedy.draftTokens(5))) {
      boolean same = true;
      for (int i = 0; i < sentences.length; i++) same &= a.text(i, 0).equals(b.text(i, 0));
      check(same && greedy.draftTokens() == 5, "speculative decoding gives the greedy translations");
    }
    try (Translations t = model.translateBatch(sentences, new TranslateOptions().beam(2).maxLen(0f, 1))) {
      check(t.numTokens(0, 0) == 0 && t.text(0, 0).isEmpty(), "maxLen(0, 1) leaves the EOS only");
    }
    try (Translations t = model.translateBatch(sentences, new TranslateOptions().beam(2).nbest(3))) {
      check(false, "nbest above beam accepted");
    } catch (MosException e) {
      check(e.getMessage().contains("nbest 3"), "nbest error: " + e.getMessage());
    }
    check(model.dtype().equals("f32"), "routed model is f32");
    try (Model int8 = net.route(small, 1, DType.INT8); Model bf = model.convert(DType.BF16)) {
      check(int8.dtype().equals("int8"), "routed int8: " + int8.dtype());
      check(int8.computeDtype().equals("int8") || int8.computeDtype().equals("f32"), "compute dtype");
      check(bf.dtype().equals("bf16"), "converted to bf16: " + bf.dtype());
      check(bf.translate(new String[] {sentences[0]}, 1).length == 1, "bf16 model translates");
    }
    try (Model bad = model.convert(7)) {
      check(false, "dtype 7 accepted");
    } catch (MosException e) {
      check(e.status() == Status.MOS_INVALID_ARGUMENT, "dtype 7: " + e.getMessage());
    }
  }

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("mos-java-serving");
    defaults();
    builtin();
    train(dir);
    trainStops(dir);
    String[] sentences = {"the red cat sees the dog", "big blue bird", "the small dog likes the green cat"};
    try (Supernet net = Supernet.load(dir.resolve("net.mos").toString()); Space space = net.space()) {
      check(net.routing() == 2 && net.experts() == 2, "default options: neuron routing, 2 experts");
      check(space.name().equals("tiny"), "space name");
      try (Arch big = Arch.largest(space); Arch small = Arch.smallest(space); Arch s = Arch.sample(space, 3);
           Arch again = Arch.fromJson(space, s.toJson())) {
        check(big.params(40) > small.params(40), "largest arch has more parameters");
        check(again.toJson().equals(s.toJson()), "arch JSON round trip");
      }

      SearchOptions so = new SearchOptions();
      so.srcLang = "xx";
      so.tgtLang = "yy";
      so.validSentences = 20;
      so.population = 8;
      so.parents = 2;
      so.mutations = 3;
      so.crossovers = 3;
      so.iterations = 2;
      try (SearchResult res = Mos.search(net, dir.toString(), so); Arch best = res.arch(0);
           Model model = net.route(best)) {
        check(res.count() == 1, "one result without budgets");
        check(res.fitness(0) > 0, "fitness is a positive loss");
        check(res.toJson().contains("{"), "result JSON");
        check(statusOf(() -> res.arch(3)) == Status.MOS_OUT_OF_RANGE, "arch(3) of a 1-budget result");
        check(model.numParams() > 0, "model has parameters");
        String[] out = model.translate(sentences, 4);
        check(out.length == 3, "three translations");
        check(Arrays.equals(model.translate(sentences, 4, 1), out), "one thread per call translates identically");
        check(Arrays.equals(model.translateIds(new int[] {5, 6, 7}, 1, 1), model.translateIds(new int[] {5, 6, 7}, 1)),
            "translateIds on one thread identical");
        check(statusOf(() -> model.translate(sentences, 1, -1)) == Status.MOS_INVALID_ARGUMENT, "threads -1 refused");
        try (Model one = net.route(best, 1)) {
          check(one.numParams() == model.numParams(), "route on one thread");
        }
        String path = dir.resolve("model.mos").toString();
        model.save(path);
        try (Model again = Model.load(path)) {
          check(Arrays.equals(again.translate(sentences, 4), out), "reloaded model translates identically");
          check(Arrays.equals(again.translateIds(new int[] {5, 6, 7}, 1), model.translateIds(new int[] {5, 6, 7}, 1)),
              "translateIds identical after reload");
        }
        try (Arch a = model.arch()) {
          check(a.toJson().equals(best.toJson()), "model arch is the routed arch");
        }
        check(model.latencyMs(5, 3, 1, 1, 3) > 0, "latency measured");

        // Concurrent translation on one model equals sequential.
        String[][] want = new String[sentences.length][];
        for (int i = 0; i < sentences.length; i++) want[i] = model.translate(new String[] {sentences[i]}, 1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Boolean>> jobs = new ArrayList<>();
        for (int t = 0; t < 12; t++) {
          final int i = t % sentences.length;
          jobs.add(pool.submit(() -> {
            String[] got = model.translate(new String[] {sentences[i]}, 1);
            check(got.length == 1, "one translation per sentence");
            return Arrays.equals(got, want[i]);
          }));
        }
        // Concurrent translations on one model must equal the sequential ones.
        int differ = 0;
        for (Future<Boolean> f : jobs) if (!f.get()) differ++;
        check(differ == 0, differ + " of 12 concurrent translations differ from the sequential ones");
        pool.shutdown();
      }

      // Error paths.
      try {
        Model.load(dir.resolve("missing.mos").toString());
        check(false, "loading a missing model throws");
      } catch (MosException e) {
        check(e.status() == Status.MOS_IO, "missing model is MOS_IO: " + e.getMessage());
        check(e.getMessage().contains("missing.mos"), "message names the path: " + e.getMessage());
      }
      try (Space other = Space.preset("small"); Arch foreign = Arch.largest(other)) {
        check(statusOf(() -> net.route(foreign).close()) == Status.MOS_OUT_OF_RANGE, "arch of another space");
      }
      check(statusOf(() -> Space.fromJson("{")) == Status.MOS_FORMAT, "malformed space JSON");
      Model closed = Model.load(dir.resolve("model.mos").toString());
      closed.close();
      closed.close();
      check(statusOf(() -> closed.translate(new String[] {"the cat"}, 1)) == Status.MOS_INVALID_ARGUMENT,
          "translate on a closed model");
      check(statusOf(() -> closed.numParams()) == Status.MOS_INVALID_ARGUMENT, "numParams on a closed model");
      check(statusOf(() -> net.route(null)) == Status.MOS_INVALID_ARGUMENT, "route(null)");
    }
    for (String f : new String[] {"net.mos", "net.mos.best", "model.mos"}) Files.deleteIfExists(dir.resolve(f));
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) Files.deleteIfExists(p);
    }
    Files.deleteIfExists(dir);
    System.out.println("ServingTest: " + checks + " checks, " + failures + " failures");
    System.exit(failures == 0 ? 0 : 1);
  }
}
