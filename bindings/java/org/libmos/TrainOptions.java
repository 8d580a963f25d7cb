/* bindings/java/org/libmos/TrainOptions.java: the options of Mos.train, the
 * fields of mos_train_options (mos/train.h) a caller sets. Their initial values
 * are read from the library (a CTrainOptions, whose constructor runs
 * mos_train_options_init), so they are always MOS_TRAIN_OPTIONS_INIT's. */
package org.libmos;

/** Options of {@link Mos#train}; the initial values are the library's defaults. */
public final class TrainOptions {
  /** The library's defaults, read once (a native struct kept for the life of the class). */
  private static final CTrainOptions DEFAULTS = new CTrainOptions();

  public String dataDir = DEFAULTS.getData_dir();
  public String srcLang = DEFAULTS.getSrc_lang();
  public String tgtLang = DEFAULTS.getTgt_lang();
  public String outPath = DEFAULTS.getOut_path();
  public String resumePath = DEFAULTS.getResume_path();
  public int vocabSize = (int) DEFAULTS.getVocab_size();
  public int maxTokens = (int) DEFAULTS.getMax_tokens();
  public int maxLen = (int) DEFAULTS.getMax_len();
  public long maxSteps = DEFAULTS.getMax_steps();
  public double maxSeconds = DEFAULTS.getMax_seconds();
  public int warmup = (int) DEFAULTS.getWarmup();
  public float lr = DEFAULTS.getLr();
  public int validEvery = (int) DEFAULTS.getValid_every();
  public int validSentences = (int) DEFAULTS.getValid_sentences();
  public long seed = DEFAULTS.getSeed();
  public int threads = DEFAULTS.getThreads();
}
