/* bindings/java/org/libmos/SearchOptions.java: the options of Mos.search, field
 * for field those of mos_search_options (mos/search.h). Their initial values are
 * read from the library (a CSearchOptions, whose constructor runs
 * mos_search_options_init), so they are always MOS_SEARCH_OPTIONS_INIT's. */
package org.libmos;

/** Options of {@link Mos#search}; the initial values are the library's defaults. */
public final class SearchOptions {
  /** The library's defaults, read once (a native struct kept for the life of the class). */
  private static final CSearchOptions DEFAULTS = new CSearchOptions();

  public String split = DEFAULTS.getSplit();
  public String srcLang = DEFAULTS.getSrc_lang();
  public String tgtLang = DEFAULTS.getTgt_lang();
  public int validSentences = (int) DEFAULTS.getValid_sentences();
  /** Latency budgets in ms, or null for none (the library's default). */
  public double[] budgetsMs;
  public long maxParams = DEFAULTS.getMax_params();
  public long maxFlops = DEFAULTS.getMax_flops();
  /** Latency predictor file, or null. */
  public String predictorPath = DEFAULTS.getPredictor_path();
  public boolean measure = DEFAULTS.getMeasure();
  public int population = (int) DEFAULTS.getPopulation();
  public int parents = (int) DEFAULTS.getParents();
  public int mutations = (int) DEFAULTS.getMutations();
  public int crossovers = (int) DEFAULTS.getCrossovers();
  public int iterations = (int) DEFAULTS.getIterations();
  public double mutationProb = DEFAULTS.getMutation_prob();
  public long seed = DEFAULTS.getSeed();
  /** Threads of this search, 0 = all cores (the library's default); for this call only. */
  public int threads = DEFAULTS.getThreads();
}
