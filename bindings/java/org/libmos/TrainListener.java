/* bindings/java/org/libmos/TrainListener.java: progress reports of Mos.train
 * (mos_train_progress_fn), called on the thread that called Mos.train. */
package org.libmos;

/** Receives the progress of {@link Mos#train(Space, TrainOptions, TrainListener)}. */
@FunctionalInterface
public interface TrainListener {
  /** event: 0 setup, 1 step, 2 validation, 3 checkpoint (mos_train_event). Return
   *  false to stop training; an exception thrown here also stops it and reaches the caller. */
  boolean onProgress(int event, long step, long maxSteps, double loss, double lr, String message);
}
