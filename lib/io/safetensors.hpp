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
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mos {

enum class DType { F32, BF16, U8, I32, I64 };

const char *dtype_name(DType t);
size_t dtype_size(DType t);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<uint64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets within the data section
    uint64_t numel() const;       // product of shape (1 for a scalar)
    uint64_t nbytes() const { return end - begin; }
};

// A parsed file held in memory.
class SafeTensors {
public:
    // Parse a file image. `source` names it in error messages (a path, or
    // "buffer"). The bytes are copied.
    static SafeTensors parse(const void *data, size_t size, const std::string &source = "buffer");
    // Read and parse a file; MOS_IO with the path and strerror if unreadable.
    static SafeTensors read_file(const std::string &path);

    const std::map<std::string, std::string> &metadata() const { return metadata_; }
    // Metadata value or nullptr.
    const std::string *meta(const std::string &key) const;
    // Tensors in name order.
    const std::vector<TensorInfo> &tensors() const { return tensors_; }
    // A tensor by name, or nullptr.
    const TensorInfo *find(const std::string &name) const;
    // A tensor by name; MOS_FORMAT naming it if absent or not of dtype/shape.
    const TensorInfo &require(const std::string &name, DType dtype,
                              const std::vector<uint64_t> &shape) const;
    // The bytes of a tensor (little-endian, tensor.nbytes() long).
    const uint8_t *bytes(const TensorInfo &t) const { return data_.data() + data_start_ + t.begin; }

    // The file's kind and version: metadata "format" must equal `format`
    // (else MOS_FORMAT) and "format_version" must be an integer in
    // [1, max_version] (else MOS_VERSION). Returns the version.
    int check_format(const std::string &format, int max_version) const;

private:
    std::string source_;
    std::vector<uint8_t> data_;
    size_t data_start_ = 0;
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
    void set_metadata(const std::string &key, const std::string &value);
    // Sets "format" and "format_version".
    void set_format(const std::string &format, int version);

    std::vector<uint8_t> to_bytes() const;
    // Atomic: writes a temporary file in the same directory, fsyncs it, renames
    // it over `path` and fsyncs the directory. MOS_IO with the path and strerror.
    void write_file(const std::string &path) const;

private:
    struct Entry {
        std::string name;
        DType dtype;
        std::vector<uint64_t> shape;
        const void *data;
        size_t nbytes;
    };
    std::vector<Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

// Write `size` bytes to `path` atomically (temporary file, fsync, rename).
void write_file_atomic(const std::string &path, const void *data, size_t size);

}  // namespace mos
