/* bindings/java/org/libmos/SearchOptions.java: the options of Mos.search, field
 * for field those of mos_search_options (mos/search.h), with its defaults. */
package org.libmos;

/** Options of {@link Mos#search}; the initial values are MOS_SEARCH_OPTIONS_INIT's. */
public final class SearchOptions {
  public String split = "valid";
  public String srcLang;
  public String tgtLang;
  public int validSentences = 500;
  /** Latency budgets in ms, or null for none. */
  public double[] budgetsMs;
  public long maxParams = 0;
  public long maxFlops = 0;
  /** Latency predictor file, or null. */
  public String predictorPath;
  public boolean measure = false;
  public int population = 125;
  public int parents = 25;
  public int mutations = 50;
  public int crossovers = 50;
  public int iterations = 30;
  public double mutationProb = 0.3;
  public long seed = 1;
}
