//! The vendored model gives what the reference gives: for every text of
//! `tools/probes.txt` (five languages, emoji, full-width forms, ligatures, empty and
//! whitespace-only texts, banking questions), the forward pass's vector is the wheel's
//! numpy vector (fed the `sentencepiece` library's ids), to a cosine of 0.9999.

use relais_nlu::DIM;

fn golden() -> Vec<(String, Vec<u32>, Vec<f32>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/model/golden.jsonl"))
        .expect("model/golden.jsonl");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let ids = v["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|x| x.as_u64().expect("id") as u32)
                .collect();
            let vector = v["vector"]
                .as_array()
                .expect("vector")
                .iter()
                .map(|x| x.as_f64().expect("f") as f32)
                .collect();
            (v["text"].as_str().expect("text").to_owned(), ids, vector)
        })
        .collect()
}

#[test]
fn the_model_files_load_and_match_the_reference_vectors() {
    let enc = relais_nlu::encoder().expect("the vendored model loads");
    let cases = golden();
    assert!(cases.len() >= 150, "{} probes", cases.len());
    let texts: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let batched = enc.encode_all(&texts);
    let mut worst = (1.0f32, String::new());
    for ((text, ids, want), got) in cases.iter().zip(&batched) {
        let mut expect = vec![1];
        expect.extend(ids);
        expect.push(2);
        assert_eq!(enc.ids(text), expect, "token ids of {text:?}");
        assert_eq!(want.len(), DIM);
        let cos: f32 = got.iter().zip(want).map(|(a, b)| a * b).sum::<f32>()
            / want.iter().map(|x| x * x).sum::<f32>().sqrt();
        if cos < worst.0 {
            worst = (cos, text.clone());
        }
        let norm: f32 = got.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "unit vector for {text:?}: {norm}"
        );
    }
    assert!(
        worst.0 >= 0.9999,
        "worst cosine {} for {:?}",
        worst.0,
        worst.1
    );
    // One at a time gives the batch's vectors: sentences never leak into each other.
    for (t, b) in texts.iter().zip(&batched).step_by(17) {
        let one = enc.encode(t);
        let d = one
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5, "{t:?} alone differs by {d}");
    }
}

#[test]
fn similar_sentences_are_close_across_languages() {
    let enc = relais_nlu::encoder().expect("the vendored model loads");
    let v = enc.encode_all(&[
        "Where is my parcel?",
        "Où est mon colis ?",
        "¿Dónde está mi paquete?",
        "Wo ist mein Paket?",
        "Dov'è il mio pacco?",
        "I would like to change my password",
    ]);
    let cos = |a: &[f32; DIM], b: &[f32; DIM]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for other in &v[1..5] {
        assert!(cos(&v[0], other) > 0.55, "{}", cos(&v[0], other));
        assert!(
            cos(&v[0], other) > cos(&v[0], &v[5]) + 0.2,
            "{} against {}",
            cos(&v[0], other),
            cos(&v[0], &v[5])
        );
    }
}
