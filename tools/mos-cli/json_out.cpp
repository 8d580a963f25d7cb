// tools/mos-cli/json_out.cpp: print_json (the --json output of every
// command) and the arch facts shared by `arch show` and `model show`.
#include "json_out.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli.hpp"

namespace mos_cli {

void print_json(const Json &j) {
    // error_handler::replace: a stray invalid UTF-8 byte (say, in a path)
    // becomes U+FFFD instead of an exception after the work is done.
    const std::string text = j.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::fputs(text.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

Json number_or_null(double x, bool present) {
    if (!present || !std::isfinite(x)) return nullptr;
    return x;
}

Json arch_value(const mos_arch *arch) { return Json::parse(api_string(mos_arch_to_json, arch)); }

namespace {

std::vector<float> encoding_of(mos_status (*encode)(float *, size_t, size_t *, const mos_arch *), const mos_arch *a) {
    size_t n = 0;
    check(encode(nullptr, 0, &n, a));
    std::vector<float> f(n);
    check(encode(f.data(), f.size(), nullptr, a));
    return f;
}

std::string join(const std::vector<uint32_t> &v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
    return s;
}

std::string floats(const std::vector<float> &v) {
    std::string s;
    char buf[32];
    for (float x : v) {
        std::snprintf(buf, sizeof buf, " %.4f", static_cast<double>(x));
        s += buf;
    }
    return s;
}

}  // namespace

ArchFacts arch_facts(const mos_arch *h, uint64_t vocab, uint64_t src_len, uint64_t tgt_len) {
    ArchFacts f;
    f.enc_embed = mos_arch_encoder_embed_dim(h);
    f.dec_embed = mos_arch_decoder_embed_dim(h);
    for (uint32_t i = 0; i < mos_arch_encoder_layers(h); ++i) {
        uint32_t ffn = 0, heads = 0;
        check(mos_arch_encoder_layer(&ffn, &heads, h, i));
        f.enc_ffn.push_back(ffn);
        f.enc_heads.push_back(heads);
    }
    for (uint32_t i = 0; i < mos_arch_decoder_layers(h); ++i) {
        uint32_t ffn = 0, self = 0, cross = 0, k = 0;
        check(mos_arch_decoder_layer(&ffn, &self, &cross, &k, h, i));
        f.dec_ffn.push_back(ffn);
        f.dec_self.push_back(self);
        f.dec_cross.push_back(cross);
        f.dec_k.push_back(k);
    }
    f.encoding = encoding_of(mos_arch_encode, h);
    f.fine_encoding = encoding_of(mos_arch_encode_fine, h);
    f.vocab = vocab;
    f.src_len = src_len;
    f.tgt_len = tgt_len;
    check(mos_arch_params(&f.params, h, vocab));
    check(mos_arch_flops(&f.flops, h, vocab, src_len, tgt_len));
    return f;
}

std::string arch_facts_text(const ArchFacts &f) {
    char buf[512];
    std::string s;
    std::snprintf(buf, sizeof buf, "encoder: embed_dim %u, %zu layers, ffn_dim %s, heads %s\n", f.enc_embed,
                  f.enc_ffn.size(), join(f.enc_ffn).c_str(), join(f.enc_heads).c_str());
    s += buf;
    std::snprintf(buf, sizeof buf,
                  "decoder: embed_dim %u, %zu layers, ffn_dim %s, self_heads %s, cross_heads %s, cross_k %s\n",
                  f.dec_embed, f.dec_ffn.size(), join(f.dec_ffn).c_str(), join(f.dec_self).c_str(),
                  join(f.dec_cross).c_str(), join(f.dec_k).c_str());
    s += buf;
    s += "encoding:" + floats(f.encoding) + "\n";
    s += "fine encoding:" + floats(f.fine_encoding) + "\n";
    std::snprintf(buf, sizeof buf, "params: %" PRIu64 " (vocabulary %" PRIu64 ")\n", f.params, f.vocab);
    s += buf;
    std::snprintf(buf, sizeof buf,
                  "flops: %" PRIu64 " (vocabulary %" PRIu64 ", %" PRIu64 " source and %" PRIu64 " target tokens)\n",
                  f.flops, f.vocab, f.src_len, f.tgt_len);
    s += buf;
    return s;
}

namespace {

// Floats as the shortest decimal that reads back as the same float (0.3, not
// 0.30000001192092896).
Json float_array(const std::vector<float> &v) {
    Json a = Json::array();
    for (float x : v) {
        double shortest = static_cast<double>(x);
        for (int digits = 1; digits <= 9; digits++) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(x));
            const double d = std::strtod(buf, nullptr);
            if (static_cast<float>(d) == x) {
                shortest = d;
                break;
            }
        }
        a.push_back(shortest);
    }
    return a;
}

}  // namespace

void add_arch_facts(Json &j, const mos_arch *arch, const ArchFacts &f) {
    j["arch"] = arch_value(arch);
    j["encoding"] = float_array(f.encoding);
    j["fine_encoding"] = float_array(f.fine_encoding);
    j["vocab"] = f.vocab;
    j["params"] = f.params;
    j["src_len"] = f.src_len;
    j["tgt_len"] = f.tgt_len;
    j["flops"] = f.flops;
}

}  // namespace mos_cli
