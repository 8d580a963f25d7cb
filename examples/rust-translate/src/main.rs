// examples/rust-translate/src/main.rs: reads sentences from stdin, one per line,
// and writes their translations to stdout, one per line, with a libmos model:
//     mos-translate --model PATH [--beam K] [--batch N] < input > output
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: mos-translate --model PATH [--beam K] [--batch N] < sentences");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut model_path = None;
    let mut beam: u32 = 4;
    let mut batch: usize = 16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let r: Result<(), String> = match a.as_str() {
            "--model" => value("--model").map(|v| model_path = Some(v)),
            "--beam" => value("--beam").and_then(|v| v.parse().map(|k| beam = k).map_err(|_| format!("bad --beam {v}"))),
            "--batch" => value("--batch").and_then(|v| {
                v.parse().ok().filter(|&n: &usize| n > 0).map(|n| batch = n).ok_or(format!("bad --batch {v}"))
            }),
            "-h" | "--help" => return usage(),
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(e) = r {
            eprintln!("mos-translate: {e}");
            return usage();
        }
    }
    let Some(model_path) = model_path else { return usage() };
    let model = match mos::Model::load(&model_path) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mos-translate: {e}");
            return ExitCode::from(1);
        }
    };
    let options = mos::TranslateOptions::beam(beam);
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut lines: Vec<String> = Vec::with_capacity(batch);
    let flush = |lines: &mut Vec<String>, out: &mut dyn Write| -> Result<(), String> {
        if lines.is_empty() {
            return Ok(());
        }
        let t = model.translate(lines, &options).map_err(|e| e.to_string())?;
        for s in t {
            writeln!(out, "{s}").map_err(|e| e.to_string())?;
        }
        lines.clear();
        Ok(())
    };
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mos-translate: reading stdin: {e}");
                return ExitCode::from(1);
            }
        };
        lines.push(line);
        if lines.len() == batch {
            if let Err(e) = flush(&mut lines, &mut out) {
                eprintln!("mos-translate: {e}");
                return ExitCode::from(1);
            }
        }
    }
    if let Err(e) = flush(&mut lines, &mut out).and_then(|_| out.flush().map_err(|e| e.to_string())) {
        eprintln!("mos-translate: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
