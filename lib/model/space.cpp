// lib/model/space.cpp: built-in search spaces, validation and the JSON form.
#include "model/space.hpp"

#include "core/error.hpp"
#include "core/json_util.hpp"

namespace mos {

namespace {

// Generous sanity bounds: they keep parameter and FLOP counts far from 64-bit
// overflow and catch typos (an FFN width of 20480000), without limiting any
// realistic Transformer.
constexpr long long kMaxWidth = 65536;
constexpr long long kMaxLayers = 64;
constexpr long long kMaxHeads = 1024;

const char *kFormat = "mos-space";
constexpr int kVersion = 1;

void check_choices(const std::vector<int> &v, const char *field) {
    check(!v.empty(), MOS_FORMAT, field, ": no choices");
    for (size_t i = 0; i < v.size(); ++i) {
        check(v[i] > 0, MOS_FORMAT, field, ": ", v[i], " is not positive");
        check(i == 0 || v[i] > v[i - 1], MOS_FORMAT, field,
              ": choices must be strictly ascending (", v[i], " after ", i ? v[i - 1] : 0, ")");
    }
}

void check_max(const std::vector<int> &v, const char *field, long long hi) {
    for (int x : v) check(x <= hi, MOS_FORMAT, field, ": ", x, " exceeds the limit ", hi);
}

}  // namespace

const std::vector<std::string> &space_preset_names() {
    static const std::vector<std::string> names = {"hat-wmt", "small"};
    return names;
}

Space space_preset(const std::string &name) {
    Space s;
    s.name = name;
    if (name == "hat-wmt") {
        // HAT "space0" for WMT'14 En-De / En-Fr (Wang et al. 2020), exactly.
        s.enc_embed = {512, 640};
        s.dec_embed = {512, 640};
        s.qkv_dim = 512;
        s.enc_ffn = s.dec_ffn = {1024, 2048, 3072};
        s.enc_heads = s.dec_self_heads = s.dec_cross_heads = {4, 8};
        s.enc_layers = {6};
        s.dec_layers = {1, 2, 3, 4, 5, 6};
        s.dec_cross_k = {1, 2, 3};
    } else if (name == "small") {
        // A CPU-sized space for corpora of about 30k sentence pairs.
        s.enc_embed = {192, 256};
        s.dec_embed = {192, 256};
        s.qkv_dim = 256;
        s.enc_ffn = s.dec_ffn = {256, 512, 768, 1024};
        s.enc_heads = s.dec_self_heads = s.dec_cross_heads = {2, 4};
        s.enc_layers = {2, 3, 4};
        s.dec_layers = {1, 2, 3};
        s.dec_cross_k = {1, 2};
    } else {
        std::string known;
        for (const auto &n : space_preset_names()) known += (known.empty() ? "" : "|") + n;
        fail(MOS_INVALID_ARGUMENT, "unknown space preset '", name, "'; known ", known);
    }
    validate(s);
    return s;
}

void validate(const Space &s) {
    struct Dim {
        const std::vector<int> *v;
        const char *field;
        long long hi;
    };
    const Dim dims[] = {
        {&s.enc_embed, "encoder.embed_dim", kMaxWidth},
        {&s.enc_layers, "encoder.layers", kMaxLayers},
        {&s.enc_ffn, "encoder.ffn_dim", kMaxWidth},
        {&s.enc_heads, "encoder.heads", kMaxHeads},
        {&s.dec_embed, "decoder.embed_dim", kMaxWidth},
        {&s.dec_layers, "decoder.layers", kMaxLayers},
        {&s.dec_ffn, "decoder.ffn_dim", kMaxWidth},
        {&s.dec_self_heads, "decoder.self_heads", kMaxHeads},
        {&s.dec_cross_heads, "decoder.cross_heads", kMaxHeads},
        {&s.dec_cross_k, "decoder.cross_k", kMaxLayers},
    };
    for (const Dim &d : dims) {
        check_choices(*d.v, d.field);
        check_max(*d.v, d.field, d.hi);
    }
    check(s.qkv_dim > 0 && s.qkv_dim <= kMaxWidth, MOS_FORMAT, "qkv_dim = ", s.qkv_dim,
          "; allowed 1..", kMaxWidth);
    // Sinusoidal positions split the width into a sin half and a cos half.
    for (int d : s.enc_embed) check(d % 2 == 0, MOS_FORMAT, "encoder.embed_dim: ", d, " is odd");
    for (int d : s.dec_embed) check(d % 2 == 0, MOS_FORMAT, "decoder.embed_dim: ", d, " is odd");
    // HAT keeps the q/k/v width fixed, so every head count must divide it.
    for (const Dim &d : {dims[3], dims[7], dims[8]})
        for (int h : *d.v)
            check(s.qkv_dim % h == 0, MOS_FORMAT, d.field, ": ", h, " does not divide qkv_dim ",
                  s.qkv_dim);
    // A decoder layer reads the last k encoder layers, which must exist in
    // every arch, whatever its number of encoder layers.
    const int min_enc = s.enc_layers.front();
    for (int k : s.dec_cross_k)
        check(k <= min_enc, MOS_FORMAT, "decoder.cross_k: ", k,
              " exceeds the smallest encoder.layers choice ", min_enc);
}

Space space_from_json(const std::string &text) {
    const nlohmann::json j = parse_json(text, "space");
    check(j.is_object(), MOS_FORMAT, "space: expected a JSON object");
    check_known_keys(j, "", {"format", "version", "name", "qkv_dim", "encoder", "decoder"});
    if (j.contains("format")) {
        check(j["format"].is_string() && j["format"].get<std::string>() == kFormat, MOS_FORMAT,
              "format = ", json_brief(j["format"]), "; expected \"", kFormat, "\"");
    }
    if (j.contains("version")) {
        check(j["version"].is_number_integer(), MOS_FORMAT, "version: expected an integer, got ",
              json_brief(j["version"]));
        check(j["version"] == kVersion, MOS_VERSION, "version = ", json_brief(j["version"]),
              "; this libmos reads version ", kVersion);
    }
    Space s;
    if (j.contains("name")) {
        check(j["name"].is_string(), MOS_FORMAT, "name: expected a string");
        s.name = j["name"].get<std::string>();
    }
    s.qkv_dim = json_int(j, "", "qkv_dim", 1, kMaxWidth);
    const auto &e = json_object(j, "", "encoder");
    check_known_keys(e, "encoder", {"embed_dim", "layers", "ffn_dim", "heads"});
    s.enc_embed = json_int_list(e, "encoder", "embed_dim", 1, kMaxWidth);
    s.enc_layers = json_int_list(e, "encoder", "layers", 1, kMaxLayers);
    s.enc_ffn = json_int_list(e, "encoder", "ffn_dim", 1, kMaxWidth);
    s.enc_heads = json_int_list(e, "encoder", "heads", 1, kMaxHeads);
    const auto &d = json_object(j, "", "decoder");
    check_known_keys(d, "decoder",
                     {"embed_dim", "layers", "ffn_dim", "self_heads", "cross_heads", "cross_k"});
    s.dec_embed = json_int_list(d, "decoder", "embed_dim", 1, kMaxWidth);
    s.dec_layers = json_int_list(d, "decoder", "layers", 1, kMaxLayers);
    s.dec_ffn = json_int_list(d, "decoder", "ffn_dim", 1, kMaxWidth);
    s.dec_self_heads = json_int_list(d, "decoder", "self_heads", 1, kMaxHeads);
    s.dec_cross_heads = json_int_list(d, "decoder", "cross_heads", 1, kMaxHeads);
    s.dec_cross_k = json_int_list(d, "decoder", "cross_k", 1, kMaxLayers);
    validate(s);
    return s;
}

std::string space_to_json(const Space &s) {
    std::string o = "{\n";
    o += "  \"format\": \"" + std::string(kFormat) + "\",\n";
    o += "  \"version\": " + std::to_string(kVersion) + ",\n";
    o += "  \"name\": " + json_quote(s.name) + ",\n";
    o += "  \"qkv_dim\": " + std::to_string(s.qkv_dim) + ",\n";
    o += "  \"encoder\": {\n";
    o += "    \"embed_dim\": " + json_int_array(s.enc_embed) + ",\n";
    o += "    \"layers\": " + json_int_array(s.enc_layers) + ",\n";
    o += "    \"ffn_dim\": " + json_int_array(s.enc_ffn) + ",\n";
    o += "    \"heads\": " + json_int_array(s.enc_heads) + "\n";
    o += "  },\n";
    o += "  \"decoder\": {\n";
    o += "    \"embed_dim\": " + json_int_array(s.dec_embed) + ",\n";
    o += "    \"layers\": " + json_int_array(s.dec_layers) + ",\n";
    o += "    \"ffn_dim\": " + json_int_array(s.dec_ffn) + ",\n";
    o += "    \"self_heads\": " + json_int_array(s.dec_self_heads) + ",\n";
    o += "    \"cross_heads\": " + json_int_array(s.dec_cross_heads) + ",\n";
    o += "    \"cross_k\": " + json_int_array(s.dec_cross_k) + "\n";
    o += "  }\n}\n";
    return o;
}

Space space_load(const std::string &path) {
    try {
        return space_from_json(read_text_file(path));
    } catch (const Error &e) {
        if (e.status() == MOS_IO) throw;
        throw Error(e.status(), path + ": " + e.what());
    }
}

bool operator==(const Space &a, const Space &b) {
    return a.name == b.name && a.enc_embed == b.enc_embed && a.enc_layers == b.enc_layers &&
           a.enc_ffn == b.enc_ffn && a.enc_heads == b.enc_heads && a.dec_embed == b.dec_embed &&
           a.dec_layers == b.dec_layers && a.dec_ffn == b.dec_ffn &&
           a.dec_self_heads == b.dec_self_heads && a.dec_cross_heads == b.dec_cross_heads &&
           a.dec_cross_k == b.dec_cross_k && a.qkv_dim == b.qkv_dim;
}

std::string join_choices(const std::vector<int> &choices) {
    std::string s;
    for (size_t i = 0; i < choices.size(); ++i) s += (i ? "|" : "") + std::to_string(choices[i]);
    return s;
}

}  // namespace mos
