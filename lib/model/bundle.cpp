// lib/model/bundle.cpp: making supernet and model bundles, and reading and
// writing them as safetensors (see bundle.hpp for the layout).
#include "model/bundle.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/json_util.hpp"
#include "data/tokenizer.hpp"
#include "io/safetensors.hpp"
#include "model/params.hpp"

namespace mos {

namespace {

constexpr const char *kTokenizerTensor = "tokenizer.model";

std::vector<uint64_t> to_u64(const std::vector<int64_t> &s) {
    return std::vector<uint64_t>(s.begin(), s.end());
}

const std::string &require_meta(const SafeTensors &f, const std::string &source, const char *key) {
    const std::string *v = f.meta(key);
    check(v != nullptr, MOS_FORMAT, source, ": metadata field '", key, "' is missing");
    return *v;
}

std::string read_tokenizer(const SafeTensors &f) {
    const TensorInfo *t = f.find(kTokenizerTensor);
    if (!t) return std::string();
    check(t->dtype == DType::U8 && t->shape.size() == 1, MOS_FORMAT, "tensor '", kTokenizerTensor,
          "' must be a 1-D U8 tensor");
    return std::string(reinterpret_cast<const char *>(f.bytes(*t)), t->nbytes());
}

// Copies tensor `t` of `f` (F32) into dst and refuses a NaN or infinity with
// MOS_FORMAT naming the tensor: such a weight would only surface later as NaN
// translations or losses (and a NaN reaching an int conversion in a kernel is
// undefined behaviour). The test runs on blocks that are still in cache after
// their copy, so it costs little next to reading the file (docs/reliability.md
// has the measurement).
void copy_finite(float *dst, const SafeTensors &f, const TensorInfo &t, const std::string &source) {
    const uint8_t *src = f.bytes(t);
    const size_t n = t.nbytes() / sizeof(float);
    constexpr size_t kBlock = 16384;  // floats: 64 kB, in L2 after the copy
    constexpr size_t kLanes = 64;     // a fixed count the vectoriser unrolls at -O2
    constexpr uint32_t kExp = 0x7f800000u;  // all exponent bits set: infinity or NaN
    for (size_t b = 0; b < n; b += kBlock) {
        const size_t m = n - b < kBlock ? n - b : kBlock;
        float *d = dst + b;
        std::memcpy(d, src + b * sizeof(float), m * sizeof(float));
        uint32_t bad = 0;
        size_t i = 0;
        for (; i + kLanes <= m; i += kLanes) {
            uint32_t u[kLanes];
            std::memcpy(u, d + i, sizeof u);
            for (size_t k = 0; k < kLanes; k++) bad |= (u[k] & kExp) == kExp;
        }
        for (; i < m; i++) {
            uint32_t u;
            std::memcpy(&u, d + i, sizeof u);
            bad |= (u & kExp) == kExp;
        }
        if (bad == 0) continue;
        for (size_t k = 0; k < m; k++)
            check(std::isfinite(d[k]), MOS_FORMAT, source, ": tensor '", t.name, "' holds ", d[k], " at element ",
                  b + k, "; weights must be finite");
    }
}

// The same test on F32 data read in place (a model's tensors are packed
// straight from the file's bytes, never copied to an f32 arena first).
void check_finite(const float *d, size_t n, const std::string &name, const std::string &source) {
    constexpr uint32_t kExp = 0x7f800000u;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        std::memcpy(&u, d + i, sizeof u);
        bad |= (u & kExp) == kExp;
    }
    if (bad == 0) return;
    for (size_t k = 0; k < n; k++)
        check(std::isfinite(d[k]), MOS_FORMAT, source, ": tensor '", name, "' holds ", d[k], " at element ", k,
              "; weights must be finite");
}

// Every tensor a file must hold, checked (name, F32, shape) before the network
// is allocated: the configuration in a small file can ask for gigabytes, which
// must not be allocated (and zeroed) only to find that the file holds a few
// kilobytes of weights. The bytes a valid file holds bound the allocation.
using Layout = std::vector<std::pair<std::string, std::vector<int64_t>>>;

void require_layout(const SafeTensors &f, const Layout &layout, const char *prefix = "") {
    for (const auto &t : layout) f.require(prefix + t.first, DType::F32, to_u64(t.second));
}

float json_float(const nlohmann::json &o, const char *key, float lo, float hi) {
    check(o.contains(key) && o[key].is_number(), MOS_FORMAT, "config.", key, " is missing or not a number");
    const double v = o[key].get<double>();
    check(v >= lo && v < hi, MOS_FORMAT, "config.", key, " = ", v, " is outside [", lo, ", ", hi, ")");
    return static_cast<float>(v);
}

}  // namespace

SupernetBundle make_supernet(const Space &space, SupernetConfig cfg) {
    validate(space);
    cfg.dims = super_dims(space);
    SupernetBundle b;
    b.space = space;
    b.net = std::make_unique<Supernet>(cfg);
    return b;
}

SupernetBundle make_supernet(const Space &space, SupernetConfig cfg, const std::string &tokenizer_path) {
    std::string bytes;
    if (!tokenizer_path.empty()) {
        bytes = read_text_file(tokenizer_path);
        const Tokenizer tok = Tokenizer::load(bytes);
        if (cfg.vocab == 0) cfg.vocab = tok.vocab_size();
        check(cfg.vocab == tok.vocab_size(), MOS_INVALID_ARGUMENT, "vocab_size ", cfg.vocab,
              " differs from the tokenizer's ", tok.vocab_size());
    }
    check(cfg.vocab > 0, MOS_INVALID_ARGUMENT, "vocab_size is 0 and no tokenizer_path is given");
    SupernetBundle b = make_supernet(space, cfg);
    b.tokenizer = std::move(bytes);
    return b;
}

void set_tokenizer(SupernetBundle &b, const std::string &path) {
    check(b.net != nullptr, MOS_INVALID_ARGUMENT, "supernet bundle has no supernet");
    std::string bytes = read_text_file(path);
    const Tokenizer tok = Tokenizer::load(bytes);
    const int64_t vocab = b.net->config().vocab;
    check(tok.vocab_size() == vocab, MOS_INVALID_ARGUMENT, "tokenizer '", path, "' has ", tok.vocab_size(),
          " pieces; the supernet's vocabulary is ", vocab);
    b.tokenizer = std::move(bytes);
}

std::string supernet_config_json(const SupernetConfig &c) {
    nlohmann::ordered_json j;
    j["routing"] = routing_name(c.routing);
    j["experts"] = c.experts;
    j["router_hidden"] = c.router_hidden;
    j["vocab"] = c.vocab;
    j["dropout"] = c.dropout;
    j["attn_dropout"] = c.attn_dropout;
    j["label_smoothing"] = c.label_smoothing;
    j["pad_id"] = c.pad_id;
    j["seed"] = std::to_string(c.seed);  // 64-bit: a string keeps every bit
    return j.dump();
}

SupernetConfig supernet_config_from_json(const std::string &text) {
    const nlohmann::json j = parse_json(text, "config");
    check(j.is_object(), MOS_FORMAT, "config: not a JSON object");
    check_known_keys(j, "config", {"routing", "experts", "router_hidden", "vocab", "dropout", "attn_dropout",
                                   "label_smoothing", "pad_id", "seed"});
    SupernetConfig c;
    check(j.contains("routing") && j["routing"].is_string(), MOS_FORMAT, "config.routing is missing");
    try {
        c.routing = parse_routing(j["routing"].get<std::string>());
    } catch (const Error &e) {
        fail(MOS_FORMAT, "config.routing: ", e.what());
    }
    c.experts = json_int(j, "config", "experts", 1, 64);
    c.router_hidden = json_int(j, "config", "router_hidden", 1, 4096);
    c.vocab = json_int(j, "config", "vocab", 4, 1 << 22);
    c.dropout = json_float(j, "dropout", 0.0f, 1.0f);
    c.attn_dropout = json_float(j, "attn_dropout", 0.0f, 1.0f);
    c.label_smoothing = json_float(j, "label_smoothing", 0.0f, 1.0f);
    c.pad_id = json_int(j, "config", "pad_id", 0, c.vocab - 1);
    check(j.contains("seed") && j["seed"].is_string(), MOS_FORMAT, "config.seed is missing or not a string");
    try {
        size_t used = 0;
        const std::string s = j["seed"].get<std::string>();
        c.seed = std::stoull(s, &used);
        check(used == s.size(), MOS_FORMAT, "config.seed '", s, "' is not an integer");
    } catch (const std::logic_error &) {
        fail(MOS_FORMAT, "config.seed is not an unsigned integer");
    }
    return c;
}

// ---- supernet ---------------------------------------------------------------

namespace {

// Metadata that belongs to a training run, not to the weights.
constexpr const char *kTrainStateKey = "train_state";

SafeTensorsWriter supernet_writer(const SupernetBundle &b, const SupernetSaveOptions &how) {
    check(how.weights == DType::F32 || how.weights == DType::BF16, MOS_INVALID_ARGUMENT,
          "supernet weights can be stored as F32 or BF16, not ", dtype_name(how.weights));
    check(b.net != nullptr, MOS_INVALID_ARGUMENT, "supernet bundle has no supernet");
    const Supernet &net = *b.net;
    const size_t n = net.param_floats();
    check(b.adam_m.empty() || b.adam_m.size() == n, MOS_INTERNAL, "Adam first moment has ", b.adam_m.size(),
          " floats, expected ", n);
    check(b.adam_v.size() == b.adam_m.size(), MOS_INTERNAL, "Adam moments differ in size");
    SafeTensorsWriter w;
    w.set_format(kSupernetFormat, kSupernetFormatVersion);
    w.set_metadata("space", space_to_json(b.space));
    w.set_metadata("config", supernet_config_json(net.config()));
    for (const auto &kv : b.meta)
        if (!(how.weights_only && kv.first == kTrainStateKey)) w.set_metadata(kv.first, kv.second);
    for (const ParamInfo &p : net.table().all()) {
        w.add(p.name, DType::F32, to_u64(p.shape), net.param(p.name), p.numel * sizeof(float), how.weights);
        if (!how.weights_only && !b.adam_m.empty()) {
            w.add("adam.m." + p.name, DType::F32, to_u64(p.shape), b.adam_m.data() + p.offset,
                  p.numel * sizeof(float));
            w.add("adam.v." + p.name, DType::F32, to_u64(p.shape), b.adam_v.data() + p.offset,
                  p.numel * sizeof(float));
        }
    }
    if (!b.tokenizer.empty())
        w.add(kTokenizerTensor, DType::U8, {b.tokenizer.size()}, b.tokenizer.data(), b.tokenizer.size());
    return w;
}

SupernetBundle supernet_from(const SafeTensors &f, const std::string &source) {
    f.check_format(kSupernetFormat, kSupernetFormatVersion);
    SupernetBundle b;
    try {
        b.space = space_from_json(require_meta(f, source, "space"));
    } catch (const Error &e) {
        fail(e.status(), source, ": metadata 'space': ", e.what());
    }
    SupernetConfig cfg;
    try {
        cfg = supernet_config_from_json(require_meta(f, source, "config"));
    } catch (const Error &e) {
        fail(e.status(), source, ": metadata 'config': ", e.what());
    }
    cfg.dims = super_dims(b.space);
    // Names and shapes first, from the parameter table alone (no weights).
    const ParamTable table(cfg.dims, cfg.vocab, cfg.routing, cfg.experts, cfg.router_hidden);
    check(!table.all().empty(), MOS_FORMAT, source, ": the configuration has no tensors");
    Layout layout;
    for (const ParamInfo &p : table.all()) layout.emplace_back(p.name, p.shape);
    require_layout(f, layout);
    const bool has_adam = f.find("adam.m." + table.all().front().name) != nullptr;
    if (has_adam) {
        require_layout(f, layout, "adam.m.");
        require_layout(f, layout, "adam.v.");
    }
    const TensorInfo *tok = f.find(kTokenizerTensor);
    const size_t expected = layout.size() * (has_adam ? 3 : 1) + (tok ? 1 : 0);
    if (f.tensors().size() != expected) {
        for (const TensorInfo &t : f.tensors()) {
            const std::string &nm = t.name;
            std::string base = nm;
            if (nm.rfind("adam.m.", 0) == 0 || nm.rfind("adam.v.", 0) == 0) base = nm.substr(7);
            check(nm == kTokenizerTensor || table.find(base) != nullptr, MOS_FORMAT, source,
                  ": unexpected tensor '", nm, "' for this space and config");
        }
        fail(MOS_FORMAT, source, ": ", f.tensors().size(), " tensors, expected ", expected);
    }
    b.tokenizer = read_tokenizer(f);

    b.net = std::make_unique<Supernet>(cfg);
    Supernet &net = *b.net;
    const size_t n = net.param_floats();
    if (has_adam) {
        b.adam_m.resize(n);
        b.adam_v.resize(n);
    }
    for (const ParamInfo &p : net.table().all()) {
        copy_finite(net.param(p.name), f, f.require(p.name, DType::F32, to_u64(p.shape)), source);
        if (has_adam) {
            copy_finite(b.adam_m.data() + p.offset, f, f.require("adam.m." + p.name, DType::F32, to_u64(p.shape)),
                        source);
            copy_finite(b.adam_v.data() + p.offset, f, f.require("adam.v." + p.name, DType::F32, to_u64(p.shape)),
                        source);
        }
    }
    for (const auto &kv : f.metadata())
        if (kv.first != "format" && kv.first != "format_version" && kv.first != "space" && kv.first != "config")
            b.meta[kv.first] = kv.second;
    return b;
}

}  // namespace

void save_supernet(const std::string &path, const SupernetBundle &b, const SupernetSaveOptions &how) {
    supernet_writer(b, how).write_file(path);
}

std::vector<uint8_t> supernet_to_bytes(const SupernetBundle &b, const SupernetSaveOptions &how) {
    return supernet_writer(b, how).to_bytes();
}

SupernetBundle load_supernet(const std::string &path) { return supernet_from(SafeTensors::read_file(path), path); }

SupernetBundle supernet_from_bytes(const void *data, size_t size, const std::string &source) {
    return supernet_from(SafeTensors::parse(data, size, source), source);
}

// ---- model --------------------------------------------------------------------

namespace {

constexpr const char *kDTypeKey = "dtype";

// The precision a model computes in for options p, and the warning if that is
// not its stored precision.
std::unique_ptr<ServeModel> make_serve(const ArchDims &dims, int64_t vocab, int64_t qkv, int32_t pad,
                                       Precision stored, bool allow_emulation, const TensorLookup &get) {
    std::string warning;
    const Precision compute = resolve_precision(stored, allow_emulation, &warning);
    auto m = std::make_unique<ServeModel>(dims, vocab, qkv, pad, stored, compute, get);
    m->set_warning(warning);
    return m;
}

// Reads a model's tensors back from its stored form.
TensorLookup lookup_stored(const std::vector<ServeModel::Stored> &st) {
    return [&st](const std::string &name, const std::vector<int64_t> &, bool) {
        for (const ServeModel::Stored &s : st)
            if (s.spec->name == name) {
                TensorView v;
                v.type = s.type;
                v.data = s.data.data();
                v.scale = s.scale.empty() ? nullptr : s.scale.data();
                return v;
            }
        fail(MOS_INTERNAL, "stored model has no tensor '", name, "'");
    };
}

}  // namespace

ModelBundle route_bundle(const SupernetBundle &sb, const Arch &arch, const PrecisionOptions &p) {
    check(sb.net != nullptr, MOS_INVALID_ARGUMENT, "supernet bundle has no supernet");
    ModelBundle m;
    m.space = sb.space;
    m.arch = arch;
    const ArchDims dims = arch_dims(sb.space, arch);
    const DenseModel dense = route(*sb.net, dims);
    std::string warning;
    const Precision compute = resolve_precision(p.precision, p.allow_emulation, &warning);
    m.model = std::make_unique<ServeModel>(ServeModel::from_dense(dense, p.precision, compute));
    m.model->set_warning(warning);
    m.tokenizer = sb.tokenizer;
    const auto src = sb.meta.find(kSrcLangKey), tgt = sb.meta.find(kTgtLangKey);
    if (src != sb.meta.end()) m.src_lang = src->second;
    if (tgt != sb.meta.end()) m.tgt_lang = tgt->second;
    m.label_smoothing = sb.net->config().label_smoothing;
    return m;
}

ModelBundle convert_model(const ModelBundle &in, const PrecisionOptions &p) {
    check(in.model != nullptr, MOS_INVALID_ARGUMENT, "model bundle has no model");
    const ServeModel &s = *in.model;
    ModelBundle m;
    m.space = in.space;
    m.arch = in.arch;
    m.tokenizer = in.tokenizer;
    m.src_lang = in.src_lang;
    m.tgt_lang = in.tgt_lang;
    m.label_smoothing = in.label_smoothing;
    const std::vector<ServeModel::Stored> stored = s.export_tensors();
    m.model = make_serve(s.arch(), s.vocab(), s.qkv(), s.pad_id(), p.precision, p.allow_emulation,
                         lookup_stored(stored));
    return m;
}

namespace {

SafeTensorsWriter model_writer(const ModelBundle &m, std::vector<ServeModel::Stored> &stored) {
    check(m.model != nullptr, MOS_INVALID_ARGUMENT, "model bundle has no model");
    const ServeModel &d = *m.model;
    const Precision p = d.stored_precision();
    SafeTensorsWriter w;
    w.set_format(kModelFormat, p == Precision::F32 ? 1 : 2);
    w.set_metadata("space", space_to_json(m.space));
    w.set_metadata("arch", arch_to_json(m.arch));
    nlohmann::ordered_json cfg;
    cfg["vocab"] = d.vocab();
    cfg["pad_id"] = d.pad_id();
    cfg["label_smoothing"] = m.label_smoothing;
    w.set_metadata("config", cfg.dump());
    if (p != Precision::F32) w.set_metadata(kDTypeKey, precision_name(p));
    if (!m.src_lang.empty()) w.set_metadata(kSrcLangKey, m.src_lang);
    if (!m.tgt_lang.empty()) w.set_metadata(kTgtLangKey, m.tgt_lang);
    stored = d.export_tensors();
    for (const ServeModel::Stored &s : stored) {
        const std::vector<uint64_t> shape = to_u64(s.spec->shape);
        switch (s.type) {
        case Precision::F32: w.add(s.spec->name, DType::F32, shape, s.data.data(), s.data.size()); break;
        case Precision::BF16: w.add(s.spec->name, DType::BF16, shape, s.data.data(), s.data.size()); break;
        case Precision::I8:
            w.add(s.spec->name, DType::I8, shape, s.data.data(), s.data.size());
            w.add(s.spec->name + ".scale", DType::F32, {shape[0]}, s.scale.data(), s.scale.size() * sizeof(float));
            break;
        }
    }
    if (!m.tokenizer.empty())
        w.add(kTokenizerTensor, DType::U8, {m.tokenizer.size()}, m.tokenizer.data(), m.tokenizer.size());
    return w;
}

ModelBundle model_from(const SafeTensors &f, const std::string &source, const PrecisionOptions &opt) {
    const int version = f.check_format(kModelFormat, kModelFormatVersion);
    ModelBundle m;
    try {
        m.space = space_from_json(require_meta(f, source, "space"));
        m.arch = arch_from_json(m.space, require_meta(f, source, "arch"));
    } catch (const Error &e) {
        fail(e.status() == MOS_OUT_OF_RANGE ? MOS_FORMAT : e.status(), source, ": ", e.what());
    }
    const nlohmann::json cfg = parse_json(require_meta(f, source, "config"), source + ": metadata 'config'");
    check(cfg.is_object(), MOS_FORMAT, source, ": metadata 'config' is not an object");
    check_known_keys(cfg, "config", {"vocab", "pad_id", "label_smoothing"});
    const int vocab = json_int(cfg, "config", "vocab", 4, 1 << 22);
    const int pad = json_int(cfg, "config", "pad_id", 0, vocab - 1);
    if (cfg.contains("label_smoothing")) m.label_smoothing = json_float(cfg, "label_smoothing", 0.0f, 1.0f);
    // The stored precision: version 1 files are f32; version 2 names it.
    Precision stored = Precision::F32;
    if (const std::string *dt = f.meta(kDTypeKey)) {
        check(version >= 2, MOS_FORMAT, source, ": metadata 'dtype' needs format_version 2");
        check(*dt == "f32" || *dt == "bf16" || *dt == "int8", MOS_FORMAT, source, ": metadata 'dtype' is '", *dt,
              "'; allowed f32|bf16|int8");
        stored = parse_precision(*dt);
    }
    size_t matrices = 0;
    const TensorLookup get = [&](const std::string &name, const std::vector<int64_t> &shape, bool matrix) {
        const TensorInfo *t = f.find(name);
        check(t != nullptr, MOS_FORMAT, source, ": tensor '", name, "' is missing");
        TensorView v;
        if (!matrix || stored == Precision::F32) {
            f.require(name, DType::F32, to_u64(shape));
            check_finite(reinterpret_cast<const float *>(f.bytes(*t)), t->nbytes() / sizeof(float), name, source);
        } else if (stored == Precision::BF16) {
            // BF16, or F32 from a reader that widens BF16 (the values are bf16's).
            check(t->dtype == DType::BF16 || t->dtype == DType::F32, MOS_FORMAT, source, ": tensor '", name,
                  "' has dtype ", dtype_name(t->dtype), "; expected BF16");
            f.require(name, t->dtype, to_u64(shape));
            v.type = t->dtype == DType::BF16 ? Precision::BF16 : Precision::F32;
            if (v.type == Precision::F32)
                check_finite(reinterpret_cast<const float *>(f.bytes(*t)), t->nbytes() / sizeof(float), name, source);
        } else {
            f.require(name, DType::I8, to_u64(shape));
            const TensorInfo &sc = f.require(name + ".scale", DType::F32, {static_cast<uint64_t>(shape[0])});
            v.type = Precision::I8;
            v.scale = reinterpret_cast<const float *>(f.bytes(sc));
            for (int64_t i = 0; i < shape[0]; i++)
                check(std::isfinite(v.scale[i]) && v.scale[i] >= 0.0f, MOS_FORMAT, source, ": tensor '", name,
                      ".scale' holds ", v.scale[i], " at ", i, "; scales are finite and >= 0");
            const auto *q = reinterpret_cast<const int8_t *>(f.bytes(*t));
            for (uint64_t i = 0; i < t->nbytes(); i++)
                check(q[i] != -128, MOS_FORMAT, source, ": tensor '", name, "' holds -128; int8 weights lie in [-127, 127]");
            matrices++;
        }
        v.data = f.bytes(*t);
        return v;
    };
    m.model = make_serve(arch_dims(m.space, m.arch), vocab, m.space.qkv_dim, pad, stored, opt.allow_emulation, get);
    m.tokenizer = read_tokenizer(f);
    if (const std::string *v = f.meta(kSrcLangKey)) m.src_lang = *v;
    if (const std::string *v = f.meta(kTgtLangKey)) m.tgt_lang = *v;
    const size_t expected = m.model->tensor_specs().size() + matrices + (m.tokenizer.empty() ? 0 : 1);
    if (f.tensors().size() != expected) {
        for (const TensorInfo &t : f.tensors()) {
            bool known = t.name == kTokenizerTensor;
            for (const ServeModel::TensorSpec &s : m.model->tensor_specs())
                known = known || s.name == t.name || (stored == Precision::I8 && s.matrix && s.name + ".scale" == t.name);
            check(known, MOS_FORMAT, source, ": unexpected tensor '", t.name, "' for this arch");
        }
    }
    return m;
}

}  // namespace

void save_model(const std::string &path, const ModelBundle &m) {
    std::vector<ServeModel::Stored> stored;
    model_writer(m, stored).write_file(path);
}

std::vector<uint8_t> model_to_bytes(const ModelBundle &m) {
    std::vector<ServeModel::Stored> stored;
    return model_writer(m, stored).to_bytes();
}

ModelBundle load_model(const std::string &path, const PrecisionOptions &p) {
    return model_from(SafeTensors::read_file(path), path, p);
}

ModelBundle model_from_bytes(const void *data, size_t size, const std::string &source, const PrecisionOptions &p) {
    return model_from(SafeTensors::parse(data, size, source), source, p);
}

// ---- metadata -----------------------------------------------------------------

std::string supernet_meta(const SupernetBundle &b, const std::string &key) {
    if (key == "format") return kSupernetFormat;
    if (key == "format_version") return std::to_string(kSupernetFormatVersion);
    const auto it = b.meta.find(key);
    return it == b.meta.end() ? std::string() : it->second;
}

std::string model_meta(const ModelBundle &m, const std::string &key) {
    if (key == "format") return kModelFormat;
    if (key == "format_version")
        return m.model != nullptr && m.model->stored_precision() != Precision::F32 ? "2" : "1";
    if (key == kSrcLangKey) return m.src_lang;
    if (key == kTgtLangKey) return m.tgt_lang;
    if (m.model != nullptr) {
        if (key == kDTypeKey) return precision_name(m.model->stored_precision());
        if (key == "compute_dtype") return precision_name(m.model->precision());
        if (key == "warning") return m.model->warning();
    }
    return std::string();
}

}  // namespace mos
