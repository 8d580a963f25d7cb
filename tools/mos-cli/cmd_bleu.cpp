// tools/mos-cli/cmd_bleu.cpp: `mos-cli bleu REF < HYP`: corpus BLEU of the
// hypotheses on stdin against the reference file, computed by mos_bleu_corpus
// (sacreBLEU 2.x defaults) and printed as sacreBLEU's score line or as JSON.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace mos_cli {

namespace {

// Lines of a stream without their '\n' (a final line without '\n' counts; a
// trailing '\n' does not start an extra empty line). '\r' is left for the
// library, which strips trailing whitespace as sacreBLEU does.
std::vector<std::string> read_lines(std::istream &in) {
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

void run_bleu(const std::string &ref_path, bool json) {
    std::ifstream ref_in(ref_path, std::ios::binary);
    if (!ref_in) throw CliError("cannot open reference file '" + ref_path + "'");
    const std::vector<std::string> refs = read_lines(ref_in);
    const std::vector<std::string> hyps = read_lines(std::cin);
    if (hyps.size() != refs.size())
        throw CliError("stdin has " + std::to_string(hyps.size()) + " lines but '" + ref_path + "' has " +
                       std::to_string(refs.size()) + "; BLEU needs one hypothesis per reference line");

    std::vector<const char *> h(hyps.size()), r(refs.size());
    for (size_t i = 0; i < hyps.size(); i++) {
        h[i] = hyps[i].c_str();
        r[i] = refs[i].c_str();
    }
    mos_bleu_score s = MOS_BLEU_SCORE_INIT;
    check(mos_bleu_corpus(&s, h.data(), r.data(), h.size()));
    size_t needed = 0;
    check(mos_bleu_format(&s, nullptr, 0, &needed));
    std::string line(needed, '\0');
    check(mos_bleu_format(&s, line.data(), line.size(), nullptr));
    line.resize(needed - 1);

    if (!json) {
        std::printf("%s\n", line.c_str());
        return;
    }
    // The score line contains no characters that need JSON escaping.
    std::printf("{\"name\": \"BLEU\", \"score\": %.17g, \"precisions\": [%.17g, %.17g, %.17g, %.17g], "
                "\"bp\": %.17g, \"ratio\": %.17g, \"hyp_len\": %llu, \"ref_len\": %llu, "
                "\"tokenize\": \"13a\", \"smooth\": \"exp\", \"lowercase\": false, \"line\": \"%s\"}\n",
                s.score, s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3], s.bp, s.ratio,
                static_cast<unsigned long long>(s.hyp_len), static_cast<unsigned long long>(s.ref_len),
                line.c_str());
}

}  // namespace

void register_bleu(CLI::App &app) {
    CLI::App *cmd = app.add_subcommand(
        "bleu", "corpus BLEU of hypotheses on stdin against a reference file (sacreBLEU 2.x defaults)");
    static std::string ref_path;
    static bool json = false;
    cmd->add_option("REF", ref_path, "reference file, one sentence per line (plain UTF-8)")->required();
    cmd->add_flag("--json", json, "print the score fields as one JSON object");
    cmd->callback([] { run_bleu(ref_path, json); });
}

}  // namespace mos_cli
