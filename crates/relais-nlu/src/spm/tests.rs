//! The tokenizer against the reference library's ids, and bad model bytes.

use super::*;

/// A protobuf builder for hand-made models.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, number: u64, body: &[u8]) {
    varint(out, number << 3 | 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn model(pieces: &[(&str, f32, u64)], normalizer: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    for &(text, score, kind) in pieces {
        let mut p = Vec::new();
        bytes_field(&mut p, 1, text.as_bytes());
        varint(&mut p, 2 << 3 | 5);
        p.extend_from_slice(&score.to_le_bytes());
        varint(&mut p, 3 << 3);
        varint(&mut p, kind);
        bytes_field(&mut m, 1, &p);
    }
    bytes_field(&mut m, 3, normalizer);
    m
}

/// No charsmap, the default whitespace rules.
fn small() -> Tokenizer {
    let pieces = [
        ("<unk>", 0.0, 2),
        ("<s>", 0.0, 3),
        ("</s>", 0.0, 3),
        ("▁", -2.0, 1),
        ("a", -3.0, 1),
        ("b", -3.0, 1),
        ("▁ab", -4.0, 1),
        ("ab", -1.0, 1),
        ("<tag>", 0.0, 4),
        ("c", -1.0, 5),
        ("▁a", -10.0, 1),
    ];
    Tokenizer::from_bytes(&model(&pieces, &[])).unwrap()
}

#[test]
fn viterbi_prefers_the_best_total() {
    let t = small();
    assert_eq!(t.len(), 11);
    // ▁ + ab scores -3, better than ▁ab (-4) and ▁ + a + b (-8).
    assert_eq!(t.encode("ab"), [3, 7]);
    assert_eq!(t.encode("ab ab"), [3, 7, 3, 7]);
    assert_eq!(t.encode("  ab   b "), [3, 7, 3, 5]);
}

#[test]
fn unknowns_merge_and_unused_pieces_never_match() {
    let t = small();
    // "c" is unused: unknown; two unknown characters make one <unk>.
    assert_eq!(t.encode("ab cc"), [3, 7, 3, 0]);
    assert_eq!(t.encode("cxa"), [3, 0, 4]);
    assert_eq!(t.encode("c a c"), [3, 0, 3, 4, 3, 0]);
}

#[test]
fn user_defined_symbols_win() {
    let t = small();
    assert_eq!(t.encode("a<tag>b"), [3, 4, 8, 5]);
}

#[test]
fn blank_text_has_no_ids() {
    let t = small();
    assert!(t.encode("").is_empty());
    assert!(t.encode("   ").is_empty());
    let mut out = vec![9];
    t.encode_into(" ", &mut out);
    assert_eq!(out, [9]);
}

#[test]
fn models_without_unk_or_with_duplicates_are_refused() {
    let err = Tokenizer::from_bytes(&model(&[("a", -1.0, 1)], &[])).unwrap_err();
    assert!(err.to_string().contains("UNKNOWN"), "{err}");
    let err = Tokenizer::from_bytes(&model(
        &[("<unk>", 0.0, 2), ("a", -1.0, 1), ("a", -2.0, 1)],
        &[],
    ))
    .unwrap_err();
    assert!(err.to_string().contains("already defined at byte"), "{err}");
}

#[test]
fn protobuf_errors_say_where() {
    let err = Tokenizer::from_bytes(&[0x0a, 0x05, 0x0a]).unwrap_err();
    assert!(err.to_string().contains("at byte 0"), "{err}");
    let err = Tokenizer::from_bytes(&[0x0a, 0x80]).unwrap_err();
    assert!(err.to_string().contains("varint at byte 1"), "{err}");
    let err = Tokenizer::from_bytes(&[0x0f]).unwrap_err();
    assert!(err.to_string().contains("wire type 7"), "{err}");
}

#[test]
fn vendored_model_fits_in_memory_budget() {
    let bytes = include_bytes!("../../model/sp.model");
    let t = Tokenizer::from_bytes(bytes).unwrap();
    assert_eq!(t.len(), 128_000);
    assert!(t.heap_bytes() < 6 << 20, "{} bytes", t.heap_bytes());
}
