// examples/rust-translate/tests/pipe.rs: makes a model with libmos (toy corpus,
// 5 training steps of a tiny space, route of the largest arch, save), pipes
// sentences through mos-translate and compares with Model::translate; checks
// the error exits.
use std::io::Write;
use std::process::{Command, Stdio};

const TINY_SPACE: &str = r#"{"format":"mos-space","version":1,"name":"tiny","qkv_dim":16,
 "encoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"heads":[2,4]},
 "decoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"self_heads":[2,4],
 "cross_heads":[2,4],"cross_k":[1]}}"#;

fn make_model(dir: &std::path::Path) -> std::path::PathBuf {
    let src: Vec<&str> = "red blue green cat dog bird sees likes big small the".split(' ').collect();
    let tgt: Vec<&str> = "rojo azul verde gato perro pajaro ve gusta grande chico el".split(' ').collect();
    let mut seed = 3u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for (split, n) in [("train", 300), ("valid", 40), ("test", 40)] {
        let (mut xs, mut ys) = (String::new(), String::new());
        for _ in 0..n {
            let words: Vec<usize> = (0..3 + next() % 4).map(|_| next() % src.len()).collect();
            xs += &(words.iter().map(|&w| src[w]).collect::<Vec<_>>().join(" ") + "\n");
            ys += &(words.iter().map(|&w| tgt[w]).collect::<Vec<_>>().join(" ") + "\n");
        }
        std::fs::write(dir.join(format!("{split}.xx")), xs).unwrap();
        std::fs::write(dir.join(format!("{split}.yy")), ys).unwrap();
    }
    let space = mos::Space::from_json(TINY_SPACE).unwrap();
    let mut o = mos::TrainOptions {
        data_dir: dir.into(),
        src_lang: "xx".into(),
        tgt_lang: "yy".into(),
        out_path: dir.join("net.mos"),
        ..Default::default()
    };
    o.raw.vocab_size = 40;
    o.raw.max_steps = 5;
    o.raw.max_tokens = 256;
    o.raw.max_len = 32;
    o.raw.warmup = 2;
    o.raw.valid_every = 5;
    o.raw.valid_sentences = 20;
    o.raw.threads = 1;
    let net = mos::train(&space, &mos::SupernetOptions::default(), &o).unwrap();
    let model = net.route(&mos::Arch::largest(&space).unwrap()).unwrap();
    let path = dir.join("model.mos");
    model.save(&path).unwrap();
    path
}

#[test]
fn pipes_sentences() {
    let dir = std::env::temp_dir().join(format!("mos-translate-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let model_path = make_model(&dir);
    let sentences = ["the red cat", "big dog sees the small bird", "green", "the cat likes the dog"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_mos-translate"))
        .args(["--model", model_path.to_str().unwrap(), "--beam", "2", "--batch", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all((sentences.join("\n") + "\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    let model = mos::Model::load(&model_path).unwrap();
    let want = model.translate(&sentences, &mos::TranslateOptions::beam(2)).unwrap();
    assert_eq!(got, want);

    // A missing model file: exit 1 and the library's MOS_IO message.
    let out = Command::new(env!("CARGO_BIN_EXE_mos-translate"))
        .args(["--model", dir.join("nope.mos").to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MOS_IO") && err.contains("nope.mos"), "{err}");
    // No --model: usage, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_mos-translate")).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
