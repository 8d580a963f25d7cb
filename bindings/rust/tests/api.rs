// bindings/rust/tests/api.rs: tests of the Rust crate against the freshly built
// libmos. The BLEU values are the hand-derived ones of tests/capi/test_bleu.c.
use mos::{bleu_corpus, bleu_corpus_into, BleuScore, Feature, Status};

fn near(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
}

#[test]
fn version_and_build_info() {
    let v = mos::version();
    let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 3, "{v}");
    assert_eq!(mos::version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2]);
    assert_eq!(mos::version_number(), mos::sys::MOS_VERSION_NUMBER, "crate generated for another version");
    assert!(mos::build_info().contains(&format!("libmos={v}")));
    assert!(mos::has_feature(Feature::OPENMP));
    assert!(!mos::has_feature(Feature(9999)));
}

#[test]
fn status_strings() {
    assert_eq!(Status::OK.name(), "MOS_OK");
    assert_eq!(Status::FORMAT.name(), "MOS_FORMAT");
    assert_eq!(Status::INVALID_ARGUMENT.0, 1);
    assert_eq!(Status::INTERNAL.0, 10);
    // A code newer than this crate is still a value, not undefined behaviour.
    assert!(!Status(1000).describe().is_empty());
}

#[test]
fn bleu_values() {
    let s = bleu_corpus(&["The cat sat on the mat."], &["The cat sat on the mat."]).unwrap();
    near("exact match", s.score(), 100.0, 1e-9);
    assert_eq!(s.hyp_len(), 7);
    assert_eq!(s.total()[3], 4);
    assert_eq!(
        s.format().unwrap(),
        "BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)"
    );

    let s = bleu_corpus(&["a b c d"], &["a b x d"]).unwrap();
    assert_eq!(s.correct(), [3, 1, 0, 0]);
    assert_eq!(s.total()[2], 2);
    near("order-3 precision", s.precision(3).unwrap(), 25.0, 1e-12);
    assert_eq!(s.precision(5), None);
    near("partial match", s.score(), 1250f64.sqrt(), 1e-9);
    assert_eq!(s.format().unwrap(), "BLEU = 35.36 75.0/33.3/25.0/25.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)");

    let s = bleu_corpus(&["the cat sat on"], &["the cat sat on the mat"]).unwrap();
    near("brevity penalty", s.bp(), (-0.5f64).exp(), 1e-12);
}

#[test]
fn bleu_errors() {
    let e = bleu_corpus(&["a", "b"], &["a"]).unwrap_err();
    assert_eq!(e.status, Status::INVALID_ARGUMENT);
    assert!(e.message.contains("2 hypotheses but 1 references"), "{e}");

    let e = bleu_corpus(&["a\0b"], &["a"]).unwrap_err();
    assert_eq!(e.status, Status::INVALID_ARGUMENT);

    // The library's own message for a struct of an unknown version.
    let mut s = BleuScore::new();
    s.0.version = 99;
    let e = bleu_corpus_into(&mut s, &["a"], &["a"]).unwrap_err();
    assert_eq!(e.status, Status::VERSION);
    assert!(e.message.contains("mos_bleu_corpus") && e.message.contains("99"), "{e}");
    assert!(e.to_string().starts_with("MOS_VERSION: "), "{e}");
    let e = s.format().unwrap_err();
    assert_eq!(e.status, Status::VERSION);
    assert!(e.message.contains("mos_bleu_format"), "{e}");
}

#[test]
fn errors_from_many_threads() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let mut s = BleuScore::new();
                    s.0.version = 100 + t;
                    let e = bleu_corpus_into(&mut s, &["a"], &["a"]).unwrap_err();
                    assert!(e.message.contains(&(100 + t).to_string()), "{e}");
                    assert!(bleu_corpus(&["x y"], &["x y"]).is_ok());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
