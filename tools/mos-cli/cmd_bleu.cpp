// tools/mos-cli/cmd_bleu.cpp: `mos-cli bleu REF < HYP`: corpus BLEU of the
// hypotheses on stdin against the reference file, computed by mos_bleu_corpus
// (sacreBLEU 2.x defaults) and printed as sacreBLEU's score line or as JSON.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "json_out.hpp"
#include "options.hpp"

namespace mos_cli {

namespace {

// Lines of a stream without their '\n' (a final line without '\n' counts; a
// trailing '\n' does not start an extra empty line). '\r' is left for the
// library, which strips trailing whitespace as sacreBLEU does.
std::vector<std::string> read_lines(std::istream &in) {
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (line.find('\0') != std::string::npos)
            throw CliError("stdin line " + std::to_string(lines.size() + 1) + " holds a NUL byte; hypotheses are text");
        lines.push_back(line);
    }
    return lines;
}

void run_bleu(const std::string &ref_path, bool json) {
    // Read errors (a directory, a file that vanished) are reported as such,
    // never as a file of 0 lines.
    const std::vector<std::string> refs = read_text_lines(ref_path);
    const std::vector<std::string> hyps = read_lines(std::cin);
    if (std::cin.bad()) throw CliError("cannot read the hypotheses from stdin");
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
    const std::string line = api_string(mos_bleu_format, &s);
    if (!json) {
        std::printf("%s\n", line.c_str());
        return;
    }
    Json j;
    j["name"] = "BLEU";
    j["score"] = s.score;
    j["precisions"] = {s.precisions[0], s.precisions[1], s.precisions[2], s.precisions[3]};
    j["bp"] = s.bp;
    j["ratio"] = s.ratio;
    j["hyp_len"] = s.hyp_len;
    j["ref_len"] = s.ref_len;
    j["tokenize"] = "13a";
    j["smooth"] = "exp";
    j["lowercase"] = false;
    j["line"] = line;
    print_json(j);
}

}  // namespace

void register_bleu(CLI::App &app) {
    CLI::App *cmd = app.add_subcommand(
        "bleu", "corpus BLEU of hypotheses on stdin against a reference file (sacreBLEU 2.x defaults)");
    static std::string ref_path;
    static bool json = false;
    cmd->add_option("REF", ref_path, "reference file, one sentence per line (plain UTF-8)")->required();
    add_json_flag(cmd, json);
    cmd->callback([] { run_bleu(ref_path, json); });
}

}  // namespace mos_cli
