// lib/model/arch.cpp: arch validation, JSON, sampling, encodings, mutation and crossover.
#include "model/arch.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/json_util.hpp"

namespace mos {

namespace {

const char *kFormat = "mos-arch";
constexpr int kVersion = 1;
// Structural bounds for parsing; the space decides what is actually allowed.
constexpr long long kParseMax = 1 << 30;

void check_in(int v, const std::vector<int> &choices, const std::string &field) {
    if (!std::binary_search(choices.begin(), choices.end(), v))
        fail(MOS_OUT_OF_RANGE, field, " = ", v, "; allowed ", join_choices(choices));
}

std::string layer_field(const char *side, size_t i, const char *key) {
    return std::string(side) + ".layers[" + std::to_string(i) + "]." + key;
}

int pick(const std::vector<int> &choices, Rng &rng) {
    return choices[static_cast<size_t>(rng.below(choices.size()))];
}

EncoderLayerArch sample_enc_layer(const Space &s, Rng &rng) {
    EncoderLayerArch l;
    l.ffn_dim = pick(s.enc_ffn, rng);
    l.heads = pick(s.enc_heads, rng);
    return l;
}

DecoderLayerArch sample_dec_layer(const Space &s, Rng &rng) {
    DecoderLayerArch l;
    l.ffn_dim = pick(s.dec_ffn, rng);
    l.self_heads = pick(s.dec_self_heads, rng);
    l.cross_heads = pick(s.dec_cross_heads, rng);
    l.cross_k = pick(s.dec_cross_k, rng);
    return l;
}

// One gene: kept from the parent or, with probability p, resampled.
int mutate_gene(int v, const std::vector<int> &choices, double p, Rng &rng) {
    return rng.bernoulli(p) ? pick(choices, rng) : v;
}

int cross_gene(int a, int b, Rng &rng) { return rng.bernoulli(0.5) ? a : b; }

template <typename L, typename F>
double mean_of(const std::vector<L> &layers, F field) {
    double sum = 0;
    for (const L &l : layers) sum += field(l);
    return layers.empty() ? 0.0 : sum / static_cast<double>(layers.size());
}

}  // namespace

bool operator==(const Arch &a, const Arch &b) {
    if (a.enc_embed != b.enc_embed || a.dec_embed != b.dec_embed || a.qkv_dim != b.qkv_dim ||
        a.enc.size() != b.enc.size() || a.dec.size() != b.dec.size())
        return false;
    for (size_t i = 0; i < a.enc.size(); ++i)
        if (a.enc[i].ffn_dim != b.enc[i].ffn_dim || a.enc[i].heads != b.enc[i].heads) return false;
    for (size_t i = 0; i < a.dec.size(); ++i) {
        const auto &x = a.dec[i], &y = b.dec[i];
        if (x.ffn_dim != y.ffn_dim || x.self_heads != y.self_heads ||
            x.cross_heads != y.cross_heads || x.cross_k != y.cross_k)
            return false;
    }
    return true;
}

void validate(const Space &s, const Arch &a) {
    if (a.qkv_dim != s.qkv_dim)
        fail(MOS_OUT_OF_RANGE, "qkv_dim = ", a.qkv_dim, "; allowed ", s.qkv_dim);
    check_in(a.enc_embed, s.enc_embed, "encoder.embed_dim");
    check_in(static_cast<int>(a.enc.size()), s.enc_layers, "encoder: number of layers");
    for (size_t i = 0; i < a.enc.size(); ++i) {
        check_in(a.enc[i].ffn_dim, s.enc_ffn, layer_field("encoder", i, "ffn_dim"));
        check_in(a.enc[i].heads, s.enc_heads, layer_field("encoder", i, "heads"));
    }
    check_in(a.dec_embed, s.dec_embed, "decoder.embed_dim");
    check_in(static_cast<int>(a.dec.size()), s.dec_layers, "decoder: number of layers");
    for (size_t i = 0; i < a.dec.size(); ++i) {
        check_in(a.dec[i].ffn_dim, s.dec_ffn, layer_field("decoder", i, "ffn_dim"));
        check_in(a.dec[i].self_heads, s.dec_self_heads, layer_field("decoder", i, "self_heads"));
        check_in(a.dec[i].cross_heads, s.dec_cross_heads, layer_field("decoder", i, "cross_heads"));
        check_in(a.dec[i].cross_k, s.dec_cross_k, layer_field("decoder", i, "cross_k"));
        // The space guarantees k <= its smallest encoder depth; keep the
        // invariant explicit for archs built by hand in C++.
        if (a.dec[i].cross_k > static_cast<int>(a.enc.size()))
            fail(MOS_OUT_OF_RANGE, layer_field("decoder", i, "cross_k"), " = ", a.dec[i].cross_k,
                 "; exceeds the ", a.enc.size(), " encoder layers");
    }
}

Arch arch_from_json(const Space &space, const std::string &text) {
    const nlohmann::json j = parse_json(text, "arch");
    check(j.is_object(), MOS_FORMAT, "arch: expected a JSON object");
    check_known_keys(j, "", {"format", "version", "qkv_dim", "encoder", "decoder"});
    if (j.contains("format"))
        check(j["format"].is_string() && j["format"].get<std::string>() == kFormat, MOS_FORMAT,
              "format = ", json_brief(j["format"]), "; expected \"", kFormat, "\"");
    if (j.contains("version")) {
        check(j["version"].is_number_integer(), MOS_FORMAT, "version: expected an integer, got ",
              json_brief(j["version"]));
        check(j["version"] == kVersion, MOS_VERSION, "version = ", json_brief(j["version"]),
              "; this libmos reads version ", kVersion);
    }
    Arch a;
    // qkv_dim is fixed by the space; it may be omitted in hand-written archs.
    a.qkv_dim = j.contains("qkv_dim") ? json_int(j, "", "qkv_dim", 0, kParseMax) : space.qkv_dim;

    const auto &e = json_object(j, "", "encoder");
    check_known_keys(e, "encoder", {"embed_dim", "layers"});
    a.enc_embed = json_int(e, "encoder", "embed_dim", 0, kParseMax);
    const auto &el = json_array(e, "encoder", "layers");
    check(el.size() <= 1024, MOS_FORMAT, "encoder.layers: ", el.size(), " layers");
    for (size_t i = 0; i < el.size(); ++i) {
        const std::string path = "encoder.layers[" + std::to_string(i) + "]";
        check(el[i].is_object(), MOS_FORMAT, path, ": expected an object");
        check_known_keys(el[i], path, {"ffn_dim", "heads"});
        EncoderLayerArch l;
        l.ffn_dim = json_int(el[i], path, "ffn_dim", 0, kParseMax);
        l.heads = json_int(el[i], path, "heads", 0, kParseMax);
        a.enc.push_back(l);
    }

    const auto &d = json_object(j, "", "decoder");
    check_known_keys(d, "decoder", {"embed_dim", "layers"});
    a.dec_embed = json_int(d, "decoder", "embed_dim", 0, kParseMax);
    const auto &dl = json_array(d, "decoder", "layers");
    check(dl.size() <= 1024, MOS_FORMAT, "decoder.layers: ", dl.size(), " layers");
    for (size_t i = 0; i < dl.size(); ++i) {
        const std::string path = "decoder.layers[" + std::to_string(i) + "]";
        check(dl[i].is_object(), MOS_FORMAT, path, ": expected an object");
        check_known_keys(dl[i], path, {"ffn_dim", "self_heads", "cross_heads", "cross_k"});
        DecoderLayerArch l;
        l.ffn_dim = json_int(dl[i], path, "ffn_dim", 0, kParseMax);
        l.self_heads = json_int(dl[i], path, "self_heads", 0, kParseMax);
        l.cross_heads = json_int(dl[i], path, "cross_heads", 0, kParseMax);
        l.cross_k = json_int(dl[i], path, "cross_k", 0, kParseMax);
        a.dec.push_back(l);
    }
    validate(space, a);
    return a;
}

Arch arch_load(const Space &space, const std::string &path) {
    try {
        return arch_from_json(space, read_text_file(path));
    } catch (const Error &e) {
        if (e.status() == MOS_IO) throw;
        throw Error(e.status(), path + ": " + e.what());
    }
}

std::string arch_to_json(const Arch &a) {
    std::string o = "{\n";
    o += "  \"format\": \"" + std::string(kFormat) + "\",\n";
    o += "  \"version\": " + std::to_string(kVersion) + ",\n";
    o += "  \"qkv_dim\": " + std::to_string(a.qkv_dim) + ",\n";
    o += "  \"encoder\": {\n";
    o += "    \"embed_dim\": " + std::to_string(a.enc_embed) + ",\n";
    o += "    \"layers\": [\n";
    for (size_t i = 0; i < a.enc.size(); ++i)
        o += "      {\"ffn_dim\": " + std::to_string(a.enc[i].ffn_dim) +
             ", \"heads\": " + std::to_string(a.enc[i].heads) + "}" +
             (i + 1 < a.enc.size() ? ",\n" : "\n");
    o += "    ]\n  },\n";
    o += "  \"decoder\": {\n";
    o += "    \"embed_dim\": " + std::to_string(a.dec_embed) + ",\n";
    o += "    \"layers\": [\n";
    for (size_t i = 0; i < a.dec.size(); ++i) {
        const auto &l = a.dec[i];
        o += "      {\"ffn_dim\": " + std::to_string(l.ffn_dim) +
             ", \"self_heads\": " + std::to_string(l.self_heads) +
             ", \"cross_heads\": " + std::to_string(l.cross_heads) +
             ", \"cross_k\": " + std::to_string(l.cross_k) + "}" +
             (i + 1 < a.dec.size() ? ",\n" : "\n");
    }
    o += "    ]\n  }\n}\n";
    return o;
}

Arch arch_largest(const Space &s) {
    Arch a;
    a.qkv_dim = s.qkv_dim;
    a.enc_embed = s.max_enc_embed();
    a.dec_embed = s.max_dec_embed();
    a.enc.assign(static_cast<size_t>(s.max_enc_layers()), {s.max_enc_ffn(), s.max_enc_heads()});
    a.dec.assign(static_cast<size_t>(s.max_dec_layers()),
                 {s.max_dec_ffn(), s.max_dec_self_heads(), s.max_dec_cross_heads(),
                  s.max_dec_cross_k()});
    return a;
}

Arch arch_smallest(const Space &s) {
    Arch a;
    a.qkv_dim = s.qkv_dim;
    a.enc_embed = s.enc_embed.front();
    a.dec_embed = s.dec_embed.front();
    a.enc.assign(static_cast<size_t>(s.enc_layers.front()), {s.enc_ffn.front(), s.enc_heads.front()});
    a.dec.assign(static_cast<size_t>(s.dec_layers.front()),
                 {s.dec_ffn.front(), s.dec_self_heads.front(), s.dec_cross_heads.front(),
                  s.dec_cross_k.front()});
    return a;
}

Arch arch_sample(const Space &s, Rng &rng) {
    // Draw order (documented in docs/formats.md): encoder embed, encoder layer
    // count, decoder embed, decoder layer count, then each encoder layer
    // (ffn, heads), then each decoder layer (ffn, self heads, cross heads, k).
    Arch a;
    a.qkv_dim = s.qkv_dim;
    a.enc_embed = pick(s.enc_embed, rng);
    const int n_enc = pick(s.enc_layers, rng);
    a.dec_embed = pick(s.dec_embed, rng);
    const int n_dec = pick(s.dec_layers, rng);
    for (int i = 0; i < n_enc; ++i) a.enc.push_back(sample_enc_layer(s, rng));
    for (int i = 0; i < n_dec; ++i) a.dec.push_back(sample_dec_layer(s, rng));
    return a;
}

Arch arch_sample(const Space &space, uint64_t seed) {
    Rng rng(seed);
    return arch_sample(space, rng);
}

Arch arch_mutate(const Space &s, const Arch &parent, double p, Rng &rng) {
    check(p >= 0.0 && p <= 1.0, MOS_INVALID_ARGUMENT, "mutation probability ", p,
          " is outside [0, 1]");
    Arch c;
    c.qkv_dim = s.qkv_dim;
    c.enc_embed = mutate_gene(parent.enc_embed, s.enc_embed, p, rng);
    const int n_enc = mutate_gene(static_cast<int>(parent.enc.size()), s.enc_layers, p, rng);
    c.dec_embed = mutate_gene(parent.dec_embed, s.dec_embed, p, rng);
    const int n_dec = mutate_gene(static_cast<int>(parent.dec.size()), s.dec_layers, p, rng);
    for (size_t i = 0; i < static_cast<size_t>(n_enc); ++i) {
        if (i >= parent.enc.size()) {
            c.enc.push_back(sample_enc_layer(s, rng));
            continue;
        }
        EncoderLayerArch l = parent.enc[i];
        l.ffn_dim = mutate_gene(l.ffn_dim, s.enc_ffn, p, rng);
        l.heads = mutate_gene(l.heads, s.enc_heads, p, rng);
        c.enc.push_back(l);
    }
    for (size_t i = 0; i < static_cast<size_t>(n_dec); ++i) {
        if (i >= parent.dec.size()) {
            c.dec.push_back(sample_dec_layer(s, rng));
            continue;
        }
        DecoderLayerArch l = parent.dec[i];
        l.ffn_dim = mutate_gene(l.ffn_dim, s.dec_ffn, p, rng);
        l.self_heads = mutate_gene(l.self_heads, s.dec_self_heads, p, rng);
        l.cross_heads = mutate_gene(l.cross_heads, s.dec_cross_heads, p, rng);
        l.cross_k = mutate_gene(l.cross_k, s.dec_cross_k, p, rng);
        c.dec.push_back(l);
    }
    validate(s, c);
    return c;
}

Arch arch_crossover(const Space &s, const Arch &a, const Arch &b, Rng &rng) {
    Arch c;
    c.qkv_dim = s.qkv_dim;
    c.enc_embed = cross_gene(a.enc_embed, b.enc_embed, rng);
    const size_t n_enc = rng.bernoulli(0.5) ? a.enc.size() : b.enc.size();
    c.dec_embed = cross_gene(a.dec_embed, b.dec_embed, rng);
    const size_t n_dec = rng.bernoulli(0.5) ? a.dec.size() : b.dec.size();
    for (size_t i = 0; i < n_enc; ++i) {
        if (i >= a.enc.size() || i >= b.enc.size()) {
            c.enc.push_back(i < a.enc.size() ? a.enc[i] : b.enc[i]);
            continue;
        }
        EncoderLayerArch l;
        l.ffn_dim = cross_gene(a.enc[i].ffn_dim, b.enc[i].ffn_dim, rng);
        l.heads = cross_gene(a.enc[i].heads, b.enc[i].heads, rng);
        c.enc.push_back(l);
    }
    for (size_t i = 0; i < n_dec; ++i) {
        if (i >= a.dec.size() || i >= b.dec.size()) {
            c.dec.push_back(i < a.dec.size() ? a.dec[i] : b.dec[i]);
            continue;
        }
        DecoderLayerArch l;
        l.ffn_dim = cross_gene(a.dec[i].ffn_dim, b.dec[i].ffn_dim, rng);
        l.self_heads = cross_gene(a.dec[i].self_heads, b.dec[i].self_heads, rng);
        l.cross_heads = cross_gene(a.dec[i].cross_heads, b.dec[i].cross_heads, rng);
        l.cross_k = cross_gene(a.dec[i].cross_k, b.dec[i].cross_k, rng);
        c.dec.push_back(l);
    }
    validate(s, c);
    return c;
}

std::vector<float> arch_encode(const Space &s, const Arch &a) {
    validate(s, a);
    auto f = [](double v, int max) { return static_cast<float>(v / max); };
    return {
        f(a.enc_embed, s.max_enc_embed()),
        f(static_cast<double>(a.enc.size()), s.max_enc_layers()),
        f(mean_of(a.enc, [](const EncoderLayerArch &l) { return l.ffn_dim; }), s.max_enc_ffn()),
        f(mean_of(a.enc, [](const EncoderLayerArch &l) { return l.heads; }), s.max_enc_heads()),
        f(a.dec_embed, s.max_dec_embed()),
        f(static_cast<double>(a.dec.size()), s.max_dec_layers()),
        f(mean_of(a.dec, [](const DecoderLayerArch &l) { return l.ffn_dim; }), s.max_dec_ffn()),
        f(mean_of(a.dec, [](const DecoderLayerArch &l) { return l.self_heads; }),
          s.max_dec_self_heads()),
        f(mean_of(a.dec, [](const DecoderLayerArch &l) { return l.cross_heads; }),
          s.max_dec_cross_heads()),
        f(mean_of(a.dec, [](const DecoderLayerArch &l) { return l.cross_k; }),
          s.max_dec_cross_k()),
    };
}

size_t arch_fine_size(const Space &s) {
    return kArchFeatures + 2 * static_cast<size_t>(s.max_enc_layers()) +
           4 * static_cast<size_t>(s.max_dec_layers());
}

std::vector<float> arch_encode_fine(const Space &s, const Arch &a) {
    std::vector<float> out = arch_encode(s, a);
    out.reserve(arch_fine_size(s));
    auto f = [](int v, int max) { return static_cast<float>(v) / static_cast<float>(max); };
    for (size_t i = 0; i < static_cast<size_t>(s.max_enc_layers()); ++i) {
        const bool on = i < a.enc.size();
        out.push_back(on ? f(a.enc[i].ffn_dim, s.max_enc_ffn()) : 0.0f);
        out.push_back(on ? f(a.enc[i].heads, s.max_enc_heads()) : 0.0f);
    }
    for (size_t i = 0; i < static_cast<size_t>(s.max_dec_layers()); ++i) {
        const bool on = i < a.dec.size();
        out.push_back(on ? f(a.dec[i].ffn_dim, s.max_dec_ffn()) : 0.0f);
        out.push_back(on ? f(a.dec[i].self_heads, s.max_dec_self_heads()) : 0.0f);
        out.push_back(on ? f(a.dec[i].cross_heads, s.max_dec_cross_heads()) : 0.0f);
        out.push_back(on ? f(a.dec[i].cross_k, s.max_dec_cross_k()) : 0.0f);
    }
    return out;
}

}  // namespace mos
