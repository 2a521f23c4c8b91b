//! The tokenizer against the reference `sentencepiece` library, and against bad model
//! bytes.

use relais_nlu::spm::Tokenizer;
use std::sync::OnceLock;

static MODEL: &[u8] = include_bytes!("../model/sp.model");

fn tokenizer() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| Tokenizer::from_bytes(MODEL).expect("vendored sp.model loads"))
}

/// (text, ids) of every line of a JSON-lines file of `{"text": ..., "ids": [...]}`.
fn cases(path: &str) -> Vec<(String, Vec<u32>)> {
    let data = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: {e}", n + 1));
            let text = v["text"].as_str().expect("text").to_owned();
            let ids = v["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|x| x.as_u64().expect("id") as u32)
                .collect();
            (text, ids)
        })
        .collect()
}

/// Panics listing every text whose ids differ; returns how many matched.
fn compare(path: &str) -> usize {
    let t = tokenizer();
    let all = cases(path);
    let mut bad = Vec::new();
    for (text, want) in &all {
        let got = t.encode(text);
        if &got != want {
            bad.push(format!("  {text:?}\n    want {want:?}\n    got  {got:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} texts of {path} differ:\n{}",
        bad.len(),
        all.len(),
        bad.join("\n")
    );
    all.len()
}

#[test]
fn golden_ids_match_the_reference_library() {
    let n = compare(concat!(env!("CARGO_MANIFEST_DIR"), "/model/golden.jsonl"));
    assert_eq!(n, 181);
}

/// `SPM_CASES=/tmp/cases.jsonl cargo test -p relais-nlu --test spm -- --ignored`: the
/// same comparison on a larger file made with the reference library.
#[test]
#[ignore = "needs SPM_CASES, a file made with the sentencepiece library"]
fn extra_cases_match_the_reference_library() {
    let path = std::env::var("SPM_CASES").expect("SPM_CASES");
    let n = compare(&path);
    println!("{n} texts of {path} match");
}

#[test]
fn blank_text_gives_no_ids() {
    let t = tokenizer();
    for text in ["", " ", "   \t\n ", "\u{3000}", "\u{a0}\u{a0}"] {
        assert_eq!(t.encode(text), Vec::<u32>::new(), "{text:?}");
    }
    let mut out = vec![7, 8];
    t.encode_into("  ", &mut out);
    assert_eq!(out, [7, 8]);
}

#[test]
fn a_run_of_unknown_characters_is_one_unk() {
    let t = tokenizer();
    let ids = t.encode("😡😡");
    assert_eq!(ids.iter().filter(|&&id| id == 0).count(), 1, "{ids:?}");
    let ids = t.encode("😡😡😡 ok 😡");
    assert_eq!(ids.iter().filter(|&&id| id == 0).count(), 2, "{ids:?}");
    // encode_into appends after what is there.
    let mut out = vec![0];
    t.encode_into("😡", &mut out);
    assert_eq!(out.len(), 3, "{out:?}"); // ▁, then <unk> (not merged with the caller's 0)
}

#[test]
fn vocabulary_size_and_thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Tokenizer>();
    assert_eq!(tokenizer().len(), 128_000);
}

#[test]
fn every_truncation_of_the_model_is_an_error() {
    for n in 0..4096.min(MODEL.len()) {
        assert!(
            Tokenizer::from_bytes(&MODEL[..n]).is_err(),
            "prefix of {n} bytes loaded"
        );
    }
    // Cuts further in: among the pieces, and inside the character map at the end.
    let len = MODEL.len();
    let mut cuts: Vec<usize> = (1..40).map(|k| len * k / 40 + k).collect();
    cuts.extend([len - 1, len - 2, len - 100, len - 237_560]);
    for n in cuts {
        let err = Tokenizer::from_bytes(&MODEL[..n]).expect_err("a cut model loaded");
        assert!(err.to_string().starts_with("sp.model: "), "{err}");
    }
}

/// xorshift64*, seeded: the same bytes on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn garbage_bytes_are_an_error_not_a_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..2000 {
        let len = rng.below(if round < 1000 { 64 } else { 4096 });
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        assert!(
            Tokenizer::from_bytes(&bytes).is_err(),
            "round {round} loaded"
        );
    }
    // Valid-looking framing around random contents.
    for round in 0..500 {
        let mut bytes = vec![0x0a, 0x0e, 0x0a, 0x05];
        bytes.extend(b"<unk>");
        bytes.extend([0x15, 0, 0, 0, 0, 0x18, 0x02]);
        let len = rng.below(300);
        bytes.extend([0x1a, len as u8 | 0x80, (len >> 7) as u8]);
        bytes.extend((0..len).map(|_| rng.next() as u8));
        let _ = Tokenizer::from_bytes(&bytes).map(|t| t.encode(&format!("round {round} é 😡")));
    }
}

#[test]
fn corrupted_models_load_or_fail_but_never_panic() {
    let mut rng = Rng(42);
    let texts = [
        "Où est ma commande ?",
        "ｆｕｌｌｗｉｄｔｈ ﬁ ligature",
        "😡😡 e\u{301} \u{a0}tab\there",
        "extra_token_id_1",
    ];
    let mut loaded = 0;
    for round in 0..40 {
        let mut bytes = MODEL.to_vec();
        for _ in 0..1 + rng.below(8) {
            // Half the flips land in the character map, the last 237 kB.
            let at = if round % 2 == 0 {
                bytes.len() - 1 - rng.below(237_000)
            } else {
                rng.below(bytes.len())
            };
            bytes[at] ^= 1 << rng.below(8);
        }
        if let Ok(t) = Tokenizer::from_bytes(&bytes) {
            loaded += 1;
            for text in texts {
                let _ = t.encode(text);
            }
        }
    }
    println!("{loaded} of 40 corrupted models loaded");
}
