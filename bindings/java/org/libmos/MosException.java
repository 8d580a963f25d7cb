/* bindings/java/org/libmos/MosException.java: a failed libmos call, carrying the
 * status and the library's message (read in the same native call). */
package org.libmos;

/** Thrown by every libmos call whose C function returned a status other than MOS_OK. */
public class MosException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int code;

  /** Called from the JNI wrapper with the raw status code and mos_last_error(). */
  public MosException(int code, String message) {
    super(Mos.status_str(statusOf(code)) + ": " + message);
    this.code = code;
  }

  /** Raised by the binding itself (argument checks before the native call). */
  public MosException(Status status, String message) {
    this(status.swigValue(), message);
  }

  /** The status; a code this binding does not know (a newer libmos) is MOS_INTERNAL. */
  public Status status() {
    return statusOf(code);
  }

  /** The raw status code, also for codes newer than this binding. */
  public int code() {
    return code;
  }

  private static Status statusOf(int code) {
    for (Status s : Status.values())
      if (s.swigValue() == code) return s;
    return Status.MOS_INTERNAL;
  }
}
