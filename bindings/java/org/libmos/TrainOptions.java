/* bindings/java/org/libmos/TrainOptions.java: the options of Mos.train, the
 * fields of mos_train_options (mos/train.h) a caller sets, with its defaults. */
package org.libmos;

/** Options of {@link Mos#train}; the initial values are MOS_TRAIN_OPTIONS_INIT's. */
public final class TrainOptions {
  public String dataDir;
  public String srcLang;
  public String tgtLang;
  public String outPath;
  public String resumePath;
  public int vocabSize = 8000;
  public int maxTokens = 4096;
  public int maxLen = 128;
  public long maxSteps = 0;
  public double maxSeconds = 0;
  public int warmup = 4000;
  public float lr = 5e-4f;
  public int validEvery = 500;
  public int validSentences = 500;
  public long seed = 1;
  public int threads = 0;
}
