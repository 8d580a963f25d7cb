"""bench/peers/mos_rss.py: resident memory of one libmos model, measured in a
fresh process (bench/decode_vs_peers.py runs it once per model file).

    python bench/peers/mos_rss.py LIBMOS_SO MODEL     (prints one JSON object)

Loads the shared library, loads and destroys the model once (what the library
sets up on first use, thread pools and CPU probes, is not the model's), reads
the process's resident set (VmRSS), loads the model again with mos_model_load,
returns freed heap to the system (malloc_trim) and reads VmRSS again:
{"rss_mib": after - before} is the memory the loaded model holds (packed
weights, biases, norms, tokenizer), not what loading passed through.
"""
import ctypes
import json
import sys

from decode_worker import vm_rss_kb  # the peers' reading of VmRSS, the same for both sides


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mos_rss.py LIBMOS_SO MODEL")
    lib = ctypes.CDLL(sys.argv[1])
    libc = ctypes.CDLL("libc.so.6")
    lib.mos_model_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
    lib.mos_model_load.restype = ctypes.c_int
    lib.mos_model_destroy.argtypes = [ctypes.c_void_p]
    lib.mos_last_error.restype = ctypes.c_char_p
    def load():
        m = ctypes.c_void_p()
        st = lib.mos_model_load(ctypes.byref(m), sys.argv[2].encode())
        if st != 0:
            sys.exit(f"mos_rss: mos_model_load({sys.argv[2]}): status {st}: {lib.mos_last_error().decode()}")
        return m

    lib.mos_model_destroy(load())  # first use of the library
    libc.malloc_trim(0)
    before = vm_rss_kb()
    m = load()
    libc.malloc_trim(0)
    after = vm_rss_kb()
    lib.mos_model_destroy(m)
    print(json.dumps({"rss_mib": (after - before) / 1024.0}))


if __name__ == "__main__":
    main()
