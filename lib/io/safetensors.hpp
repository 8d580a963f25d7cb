// lib/io/safetensors.hpp: the safetensors container used for supernet checkpoints
// and specialised models (DESIGN.md section 7; layout in docs/formats.md).
//
// File layout: an 8-byte little-endian header length N, N bytes of JSON header
// (padded with spaces so the data section starts 8-byte aligned), then the data
// section. The header maps each tensor name to {dtype, shape, data_offsets}
// (offsets relative to the data section) and holds "__metadata__", a map of
// string to string. The writer lays tensors out contiguously, widest element
// type first, so every tensor is aligned to its element size and the file is
// also readable by the reference safetensors implementation.
//
// The reader is strict: it never reads out of bounds, computes every size in
// 64 bits with overflow checks, and rejects anything malformed with
// mos::Error(MOS_FORMAT) and a message naming the tensor or field.
//
// Integrity: the writer records a CRC32C of the header and of the data section
// in the metadata field "checksum"; the reader verifies it when present and
// reports a mismatch as MOS_FORMAT "<file>: file is corrupt: ...". Files
// without the field (older writers) still load. The field is the container's:
// it never appears in metadata() and set_metadata() refuses it (and refuses
// a value of its form under another key: the reader takes that for a damaged
// key, so that one flipped bit in the key cannot switch verification off).
//
// BF16: a tensor stored as BF16 is widened to F32 when read (exact: the bf16
// bits are the top half of the f32 bits), so readers that require F32 weights
// also load half-size files; the writer can store chosen F32 tensors as BF16,
// rounding to nearest even.
//
// Writes are atomic (write_file_atomic): a temporary file next to the target,
// named "<target>.tmp.<pid>.<n>", is written, fsynced and renamed over it; a
// failed write removes its temporary, and a write first removes temporaries of
// the same target left by processes that no longer exist (killed writers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mos {

enum class DType { F32, BF16, U8, I32, I64, I8 };

const char *dtype_name(DType t);
size_t dtype_size(DType t);

// bf16 <-> f32. Widening is exact. Narrowing rounds to nearest, ties to even;
// values beyond the largest bf16 become infinity of their sign, infinities
// stay infinities, and a NaN stays a (quiet) NaN with its sign.
float bf16_to_f32(uint16_t b);
uint16_t f32_to_bf16(float f);

// CRC32C (Castagnoli polynomial, as in iSCSI and ext4): crc32c(0, p, n) is the
// checksum of n bytes; feeding a running value back in continues it. Uses the
// SSE4.2 instruction where the CPU has it.
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;     // element type in memory (F32 for a tensor stored as BF16)
    DType stored = DType::F32;    // element type in the file
    std::vector<uint64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets of the stored bytes within the data section
    uint64_t size = 0;            // bytes in memory: numel() * dtype_size(dtype)
    uint64_t wide_at = 0;         // widened tensors: float offset in the reader's F32 buffer
    uint64_t numel() const;       // product of shape (1 for a scalar)
    uint64_t nbytes() const { return size; }
};

// A parsed file held in memory.
class SafeTensors {
public:
    // Parse a file image. `source` names it in error messages (a path, or
    // "buffer"). The bytes are copied.
    static SafeTensors parse(const void *data, size_t size, const std::string &source = "buffer");
    // Read and parse a file; MOS_IO with the path and strerror if unreadable.
    static SafeTensors read_file(const std::string &path);

    // User metadata ("checksum" is the container's and not listed).
    const std::map<std::string, std::string> &metadata() const { return metadata_; }
    // Metadata value or nullptr.
    const std::string *meta(const std::string &key) const;
    // True when the file carried a checksum and it matched.
    bool checksum_verified() const { return checksum_verified_; }
    // Tensors in name order.
    const std::vector<TensorInfo> &tensors() const { return tensors_; }
    // A tensor by name, or nullptr.
    const TensorInfo *find(const std::string &name) const;
    // A tensor by name; MOS_FORMAT naming it if absent or not of dtype/shape.
    const TensorInfo &require(const std::string &name, DType dtype,
                              const std::vector<uint64_t> &shape) const;
    // The bytes of a tensor in memory (little-endian, tensor.nbytes() long;
    // F32 values for a tensor stored as BF16).
    const uint8_t *bytes(const TensorInfo &t) const;

    // The file's kind and version: metadata "format" must equal `format`
    // (else MOS_FORMAT) and "format_version" must be an integer in
    // [1, max_version] (else MOS_VERSION). Returns the version.
    int check_format(const std::string &format, int max_version) const;

private:
    static SafeTensors parse_owned(std::vector<uint8_t> image, const std::string &source);

    std::string source_;
    std::vector<uint8_t> data_;   // the file image
    std::vector<float> wide_;     // BF16 tensors widened to F32
    size_t data_start_ = 0;
    bool checksum_verified_ = false;
    std::map<std::string, std::string> metadata_;
    std::vector<TensorInfo> tensors_;
};

// Builds a file. Tensor bytes are referenced, not copied: they must stay alive
// until to_bytes() / write_file() returns.
class SafeTensorsWriter {
public:
    // Throws MOS_INVALID_ARGUMENT for a duplicate or empty name, the reserved
    // name "__metadata__", or nbytes that do not match dtype and shape.
    void add(const std::string &name, DType dtype, const std::vector<uint64_t> &shape,
             const void *data, size_t nbytes);
    // The same, stored in the file as `stored`: either `dtype` itself, or BF16
    // for F32 data (rounded to nearest even; half the bytes). Anything else is
    // MOS_INVALID_ARGUMENT.
    void add(const std::string &name, DType dtype, const std::vector<uint64_t> &shape,
             const void *data, size_t nbytes, DType stored);
    // MOS_INVALID_ARGUMENT for the reserved key "checksum".
    void set_metadata(const std::string &key, const std::string &value);
    // Sets "format" and "format_version".
    void set_format(const std::string &format, int version);

    std::vector<uint8_t> to_bytes() const;
    // Atomic (write_file_atomic). The file is streamed, not built in memory.
    void write_file(const std::string &path) const;

private:
    struct Entry {
        std::string name;
        DType dtype, stored;
        std::vector<uint64_t> shape;
        const void *data;
        size_t nbytes;         // bytes given (dtype)
        uint64_t stored_bytes; // bytes in the file (stored)
    };
    // Writes the whole file through `put`.
    void emit(const std::function<void(const void *, size_t)> &put) const;
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

// Write `size` bytes to `path` atomically (see write_file_atomic below).
void write_file_atomic(const std::string &path, const void *data, size_t size);

// Atomic write of what `produce` emits through the function it is given:
//  1. temporaries "<path>.tmp.<pid>.<n>" of the same target whose process is
//     gone are removed (and those of the older "<path>.tmp.XXXXXX" naming not
//     modified for 10 minutes);
//  2. "<path>.tmp.<pid>.<n>" is created next to `path` (same file system);
//  3. the bytes are written, the file fsynced and closed;
//  4. it is renamed over `path` and the directory fsynced.
// Any failure removes the temporary, leaves `path` as it was and throws
// MOS_IO naming `path` and the system's reason. An exception from `produce`
// also removes the temporary and is passed on.
//
// Test hooks, read once per write (two getenv calls when unset):
//  * MOS_TEST_WRITE_PAUSE=<phase>[:<k>]: at that phase of the k-th atomic
//    write of the process (every write without :k) the writer stops itself
//    with SIGSTOP, so a test can SIGKILL it there. Phases: after-temp-open,
//    after-data, after-fsync, before-rename, after-rename.
//  * MOS_TEST_WRITE_FAIL=<errno name>[:<k>]: the k-th write (every write
//    without :k) fails as if the system had returned that error: ENOSPC,
//    EDQUOT, EFBIG and EIO halfway through the data, EACCES and EROFS when the
//    temporary is created.
// An unknown phase or error name is MOS_INVALID_ARGUMENT.
void write_file_atomic(const std::string &path,
                       const std::function<void(const std::function<void(const void *, size_t)> &)> &produce);

}  // namespace mos
