/* bindings/java/org/libmos/DType.java: the precisions of a model (mos_dtype,
 * mos/supernet.h) as int constants, for Supernet.route(arch, threads, dtype)
 * and Model.convert(dtype). */
package org.libmos;

/** A model's precision (docs/serving.md); plain ints, as the C enum's values. */
public final class DType {
  private DType() {}

  /** 32-bit float, exact. */
  public static final int F32 = 0;
  /** bfloat16 weights. */
  public static final int BF16 = 1;
  /** int8 weights with one scale per output channel. */
  public static final int INT8 = 2;
}
