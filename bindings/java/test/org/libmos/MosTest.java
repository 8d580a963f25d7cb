/* bindings/java/test/org/libmos/MosTest.java: tests of the Java binding against
 * the freshly built libmos (plain main, no test framework needed). The BLEU values
 * are the hand-derived ones of tests/capi/test_bleu.c. */
package org.libmos;

import org.libmos.handletest.HandleTest;
import org.libmos.handletest.mos_test_handle;

public final class MosTest {
  private static int checks = 0;
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    checks++;
    if (!ok) {
      failures++;
      System.err.println("FAIL: " + what);
    }
  }

  private static void near(double got, double want, double tol, String what) {
    check(Math.abs(got - want) <= tol, what + ": got " + got + ", want " + want);
  }

  static void versions() {
    String v = Mos.version_string();
    String[] parts = v.split("\\.");
    check(parts.length == 3, "version string has three parts: " + v);
    long n = Integer.parseInt(parts[0]) * 10000L + Integer.parseInt(parts[1]) * 100L + Integer.parseInt(parts[2]);
    check(Mos.version_number() == n, "version number matches string " + v);
    check(Mos.build_info().contains("libmos=" + v), "build info names the version");
    check(Mos.has_feature(Feature.MOS_FEATURE_OPENMP) == 1, "OpenMP feature present");
  }

  static void statusStrings() {
    check(Mos.status_str(Status.MOS_OK).startsWith("MOS_OK"), "MOS_OK string");
    check(Mos.status_str(Status.MOS_FORMAT).startsWith("MOS_FORMAT"), "MOS_FORMAT string");
    check(Status.MOS_INVALID_ARGUMENT.swigValue() == 1, "status values are the C values");
  }

  static void bleuValues() {
    try (BleuScore s = new BleuScore()) {
      check(s.getVersion() == MosConstants.MOS_BLEU_SCORE_VERSION, "constructor sets the struct version");
      Mos.bleuCorpus(s, new String[] {"The cat sat on the mat."}, new String[] {"The cat sat on the mat."});
      near(s.getScore(), 100.0, 1e-9, "exact match");
      check(s.getHyp_len() == 7, "hyp_len 7");
      check(s.total_at(4) == 4, "four 4-grams");
      check(s.format().equals(
                "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)"),
          "exact match line");
    }
    try (BleuScore s = new BleuScore()) {
      Mos.bleuCorpus(s, new String[] {"a b c d"}, new String[] {"a b x d"});
      check(s.correct_at(1) == 3 && s.correct_at(2) == 1 && s.correct_at(3) == 0, "clipped matches 3/1/0");
      near(s.precision(3), 25.0, 1e-12, "exp smoothing of order 3");
      near(s.getScore(), Math.sqrt(1250.0), 1e-9, "partial match");
      check(s.format().equals("BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)"),
          "partial match line");
    }
    try (BleuScore s = new BleuScore()) {
      Mos.bleuCorpus(s, new String[] {"the cat sat on"}, new String[] {"the cat sat on the mat"});
      near(s.getBp(), Math.exp(-0.5), 1e-12, "brevity penalty");
    }
  }

  static void errors() {
    try (BleuScore s = new BleuScore()) {
      Mos.bleuCorpus(s, new String[] {null}, new String[] {"x"});
      check(false, "null hypothesis must throw");
    } catch (MosException e) {
      check(e.status() == Status.MOS_INVALID_ARGUMENT, "null hypothesis: MOS_INVALID_ARGUMENT, got " + e.status());
      check(e.getMessage().contains("mos_bleu_corpus"), "message from the library: " + e.getMessage());
    }
    try (BleuScore s = new BleuScore()) {
      s.setVersion(99);
      Mos.bleuCorpus(s, new String[] {"a"}, new String[] {"a"});
      check(false, "unknown struct version must throw");
    } catch (MosException e) {
      check(e.status() == Status.MOS_VERSION, "struct version 99: MOS_VERSION, got " + e.status());
      check(e.code() == 7, "raw code 7");
    }
    try (BleuScore s = new BleuScore()) {
      Mos.bleuCorpus(s, new String[] {"a", "b"}, new String[] {"a"});
      check(false, "length mismatch must throw");
    } catch (MosException e) {
      check(e.status() == Status.MOS_INVALID_ARGUMENT, "length mismatch status");
      check(e.getMessage().contains("2 hypotheses but 1 references"), "length mismatch message: " + e.getMessage());
    }
    try (BleuScore s = new BleuScore()) {
      s.precision(5);
      check(false, "order 5 must throw");
    } catch (MosException e) {
      check(e.status() == Status.MOS_OUT_OF_RANGE, "order 5: MOS_OUT_OF_RANGE");
    }
    BleuScore s = new BleuScore();
    s.close();
    s.close(); // idempotent
    check(true, "double close is harmless");
  }

  /* MOS_HANDLE on a test-only C handle: the same typemaps as the library's handles. */
  static void handles() {
    int before = HandleTest.mos_test_destroyed_count();
    try (mos_test_handle h = new mos_test_handle(42)) {
      check(h instanceof AutoCloseable, "handle is AutoCloseable");
      check(HandleTest.mos_test_handle_value(h) == 42, "handle reaches C");
    }
    check(HandleTest.mos_test_destroyed_count() == before + 1, "try-with-resources destroys once");
    mos_test_handle h = new mos_test_handle(7);
    h.close();
    h.close();
    check(HandleTest.mos_test_destroyed_count() == before + 2, "a second close() does not destroy again");
    check(HandleTest.mos_test_handle_value(h) == -1, "a closed handle reaches C as NULL");
  }

  public static void main(String[] args) {
    System.loadLibrary("mosjni");
    System.loadLibrary("moshandletest");
    handles();
    versions();
    statusStrings();
    bleuValues();
    errors();
    System.out.println(checks + " checks, " + failures + " failures");
    System.exit(failures == 0 ? 0 : 1);
  }
}
