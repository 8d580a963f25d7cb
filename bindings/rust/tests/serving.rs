// bindings/rust/tests/serving.rs: the serving flow through the Rust crate on a
// checkpoint made here: a toy word-by-word corpus, a few training steps of a
// tiny space, then search, route, translate, save/load, concurrent translation
// on one shared model, and error paths.
use mos::{Arch, Model, SearchOptions, Space, Status, Supernet, SupernetOptions, TrainOptions, TranslateOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TINY_SPACE: &str = r#"{"format":"mos-space","version":1,"name":"tiny","qkv_dim":16,
 "encoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"heads":[2,4]},
 "decoder":{"embed_dim":[12,16],"layers":[1,2],"ffn_dim":[8,16],"self_heads":[2,4],
 "cross_heads":[2,4],"cross_k":[1]}}"#;

const SRC: [&str; 11] = ["red", "blue", "green", "cat", "dog", "bird", "sees", "likes", "big", "small", "the"];
const TGT: [&str; 11] = ["rojo", "azul", "verde", "gato", "perro", "pajaro", "ve", "gusta", "grande", "chico", "el"];

/// Writes split.xx / split.yy with n sentence pairs of 3..6 words (seeded LCG).
fn write_split(dir: &Path, split: &str, n: usize, seed: &mut u64) {
    let (mut xs, mut ys) = (String::new(), String::new());
    for _ in 0..n {
        let mut next = || {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (*seed >> 33) as usize
        };
        let len = 3 + next() % 4;
        let words: Vec<usize> = (0..len).map(|_| next() % SRC.len()).collect();
        xs += &words.iter().map(|&w| SRC[w]).collect::<Vec<_>>().join(" ");
        ys += &words.iter().map(|&w| TGT[w]).collect::<Vec<_>>().join(" ");
        xs.push('\n');
        ys.push('\n');
    }
    std::fs::write(dir.join(format!("{split}.xx")), xs).unwrap();
    std::fs::write(dir.join(format!("{split}.yy")), ys).unwrap();
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mos-rust-serving-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Corpus + a 5-step training run; returns (dir, supernet).
fn trained(dir: &Path) -> (Space, Supernet) {
    let mut seed = 7u64;
    write_split(dir, "train", 300, &mut seed);
    write_split(dir, "valid", 40, &mut seed);
    write_split(dir, "test", 40, &mut seed);
    let space = Space::from_json(TINY_SPACE).expect("tiny space");
    let mut o = TrainOptions {
        data_dir: dir.to_path_buf(),
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
    let mut steps = 0;
    let net = mos::train_with_progress(&space, &SupernetOptions::default(), &o, &mut |p| {
        if p.event == mos::sys::mos_train_event_MOS_TRAIN_EVENT_STEP {
            steps += 1;
        }
        true
    })
    .expect("train");
    assert_eq!(steps, 5, "one STEP report per update");
    (space, net)
}

#[test]
fn serving_flow() {
    let dir = temp_dir();
    let (space, net) = trained(&dir);
    assert!(net.has_tokenizer());
    assert!(net.num_params() > 0);
    assert_eq!(net.options().unwrap().routing, mos::Routing::NEURON);
    assert_eq!(net.space().unwrap().to_json().unwrap(), space.to_json().unwrap());
    assert_eq!(space.name().unwrap(), "tiny");

    // Reload the checkpoint written by training, as a service would.
    let net = Supernet::load(dir.join("net.mos")).expect("load checkpoint");

    // Archs: largest/smallest/sample and a JSON round trip.
    let big = Arch::largest(&space).unwrap();
    let small = Arch::smallest(&space).unwrap();
    assert!(big.params(40).unwrap() > small.params(40).unwrap());
    let s = Arch::sample(&space, 3).unwrap();
    let again = Arch::from_json(&space, &s.to_json().unwrap()).unwrap();
    assert_eq!(again.to_json().unwrap(), s.to_json().unwrap());

    // Search with a small population, no budget: one result.
    let so = SearchOptions {
        src_lang: "xx".into(),
        tgt_lang: "yy".into(),
        valid_sentences: 20,
        population: 8,
        parents: 2,
        mutations: 3,
        crossovers: 3,
        iterations: 2,
        ..Default::default()
    };
    let result = mos::search(&net, &dir, &so).expect("search");
    assert_eq!(result.count(), 1);
    let (fitness, _latency) = result.scores(0).unwrap();
    assert!(fitness.is_finite() && fitness > 0.0, "fitness {fitness}");
    assert!(result.to_json().unwrap().contains('{'));
    let best = result.arch(0).unwrap();
    best.validate(&space).unwrap();
    assert!(result.arch(1).is_err());

    // Route, translate, save, reload: identical translations.
    let model = net.route(&best).expect("route");
    assert_eq!(model.arch().unwrap().to_json().unwrap(), best.to_json().unwrap());
    assert!(model.num_params() > 0 && model.has_tokenizer());
    let sentences = ["the red cat sees the dog", "big blue bird", "the small dog likes the green cat"];
    let greedy = TranslateOptions::beam(1);
    let out = model.translate(&sentences, &TranslateOptions::beam(4)).expect("translate");
    assert_eq!(out.len(), 3);
    let path = dir.join("model.mos");
    model.save(&path).unwrap();
    let model2 = Model::load(&path).unwrap();
    assert_eq!(model2.translate(&sentences, &TranslateOptions::beam(4)).unwrap(), out);
    let ids = model.translate_ids(&[5, 6, 7], &greedy).unwrap();
    assert_eq!(model2.translate_ids(&[5, 6, 7], &greedy).unwrap(), ids);
    // One thread per call gives the same output; a bad count is refused.
    assert_eq!(model.translate(&sentences, &TranslateOptions::beam(4).threads(1)).unwrap(), out);
    assert_eq!(model.translate_ids(&[5, 6, 7], &greedy.threads(1)).unwrap(), ids);
    let e = model.translate(&sentences, &greedy.threads(-1)).err().expect("threads -1");
    assert_eq!(e.status, Status::INVALID_ARGUMENT);
    let one = net.route_threads(&best, 1).expect("route on one thread");
    assert_eq!(one.num_params(), model.num_params());
    // The corpus languages travel from training to the routed model's file.
    assert_eq!(model2.meta("src_lang").unwrap(), "xx");
    assert_eq!(net.meta("tgt_lang").unwrap(), "yy");
    assert_eq!(model2.meta("no such key").unwrap(), "");

    // Concurrent translation on one shared model equals the sequential result.
    let model = Arc::new(model);
    let want: Vec<Vec<String>> = sentences.iter().map(|s| model.translate(&[*s], &greedy).unwrap()).collect();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let m = Arc::clone(&model);
            std::thread::spawn(move || {
                (0..6).map(|k| (k + t) % 3).map(|i| (i, m.translate(&[sentences[i]], &greedy).unwrap())).collect::<Vec<_>>()
            })
        })
        .collect();
    // Concurrent translations on one model must equal the sequential ones.
    let (mut differ, mut total) = (0, 0);
    for t in threads {
        for (i, got) in t.join().unwrap() {
            assert_eq!(got.len(), 1);
            total += 1;
            if got != want[i] {
                differ += 1;
            }
        }
    }
    assert_eq!(differ, 0, "{differ} of {total} concurrent translations differ from the sequential ones");

    // Latency of the model, quickly.
    let mut lo = mos::LatencyOptions::default();
    lo.0.runs = 3;
    lo.0.warmup = 1;
    lo.0.steps = 3;
    lo.0.src_len = 5;
    let lat = model.measure_latency(&lo).unwrap();
    assert!(lat.0.mean_ms > 0.0);

    // Error paths.
    let e = Model::load(dir.join("missing.mos")).err().expect("missing file");
    assert_eq!(e.status, Status::IO);
    assert!(e.message.contains("missing.mos"), "{}", e.message);
    let other = Space::preset("small").unwrap();
    let foreign = Arch::largest(&other).unwrap();
    let e = net.route(&foreign).err().expect("foreign arch");
    assert_eq!(e.status, Status::OUT_OF_RANGE, "{e}");
    assert!(!e.message.is_empty());
    let e = Space::from_json("{").err().unwrap();
    assert_eq!(e.status, Status::FORMAT, "{e}");
    let empty: [&str; 0] = [];
    assert_eq!(model.translate(&empty, &greedy).unwrap(), Vec::<String>::new());
    let e = model.translate(&["a\0b"], &greedy).err().unwrap();
    assert_eq!(e.status, Status::INVALID_ARGUMENT);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn builtin_supernet() {
    // Found without a path, its checksum verified (docs/builtin.md).
    let net = Supernet::load_builtin("").expect("load the built-in supernet");
    let space = net.space().unwrap();
    let small = Arch::smallest(&space).unwrap();
    let model = net.route(&small).expect("route");
    let out = model
        .translate(&["The waters rose fifteen cubits higher, and the mountains were covered."], &TranslateOptions::beam(1))
        .expect("translate");
    assert!(out[0].contains("montes"), "{:?}", out);
    assert!(Supernet::load_builtin("no-such-model").is_err());

    // Batch translation with n-best lists and scores, in input order
    // whatever the batch limits (docs/serving.md).
    let sentences = [
        "Jesus wept.",
        "The waters rose fifteen cubits higher, and the mountains were covered.",
        "Love one another.",
        "In the beginning God created the heaven and the earth.",
    ];
    let o = TranslateOptions::beam(4).nbest(3).threads(1);
    let best = model.translate(&sentences, &o).unwrap();
    let batch = model.translate_batch(&sentences, &o).unwrap();
    assert_eq!(batch.len(), sentences.len());
    for (i, hyps) in batch.iter().enumerate() {
        assert!(!hyps.is_empty() && hyps.len() <= 3, "{hyps:?}");
        assert_eq!(hyps[0].text, best[i]);
        assert!(hyps.windows(2).all(|w| w[0].score >= w[1].score), "{hyps:?}");
        assert!(hyps.iter().all(|h| h.score <= 0.0 && h.logprob <= 0.0 && h.num_tokens > 0));
    }
    let small_batches = o.max_batch_sentences(1).max_batch_tokens(8).sort_by_length(false).threads(2);
    assert_eq!(model.translate_batch(&sentences, &small_batches).unwrap(), batch);
    // max_len(0, 1): one token, the EOS, so empty texts.
    let cut = model.translate_batch(&sentences, &TranslateOptions::beam(2).max_len(0.0, 1)).unwrap();
    assert!(cut.iter().all(|h| h[0].num_tokens == 0 && h[0].text.is_empty()), "{cut:?}");
    let e = model.translate_batch(&sentences, &TranslateOptions::beam(2).nbest(3)).err().expect("nbest > beam");
    assert_eq!(e.status, Status::INVALID_ARGUMENT);
    assert!(e.message.contains("nbest 3"), "{}", e.message);
    let e = model.translate_batch(&sentences, &o.max_batch_sentences(0)).err().expect("no sentences per batch");
    assert!(e.message.contains("max_batch_sentences 0"), "{}", e.message);
    // Speculative decoding: the same greedy output, one sentence per batch.
    let greedy = TranslateOptions::beam(1).max_batch_sentences(1).threads(1);
    assert_eq!(
        model.translate_batch(&sentences, &greedy.draft_tokens(5)).unwrap(),
        model.translate_batch(&sentences, &greedy).unwrap()
    );
    let e = model.translate(&sentences, &greedy.draft_tokens(16)).err().expect("too many draft tokens");
    assert!(e.message.contains("draft_tokens 16"), "{}", e.message);

    // Precision: routed or converted, with its meta.
    assert_eq!(model.dtype().unwrap(), "f32");
    let int8 = net.route_dtype(&small, mos::DType::INT8, 1).expect("route int8");
    assert_eq!(int8.dtype().unwrap(), "int8");
    assert!(["int8", "f32"].contains(&int8.compute_dtype().unwrap().as_str()));
    let conv = model.convert(mos::DType::BF16).expect("convert to bf16");
    assert_eq!(conv.dtype().unwrap(), "bf16");
    assert_eq!(conv.translate(&sentences[..1], &TranslateOptions::beam(1)).unwrap().len(), 1);
    let e = model.convert(mos::DType(7)).err().expect("dtype 7");
    assert_eq!(e.status, Status::INVALID_ARGUMENT);
}
