//! Time of the understanding hot path on one message: tokenizing and encoding, an intent
//! classification on a 50-intent workspace, a search of a 200-article knowledge base.
//! `cargo bench -p relais-nlu --bench encode` prints medians (no harness crate).

use relais_nlu::intent::Intents;
use relais_nlu::kb::{Article, Index, passages};
use std::time::Instant;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time<F: FnMut()>(n: usize, mut f: F) -> f64 {
    median(
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect(),
    )
}

fn main() {
    let t = Instant::now();
    let enc = relais_nlu::encoder().expect("model");
    println!("model load: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let messages = [
        "Where is my order? It has been a week",
        "je voudrais changer l'adresse de livraison de ma commande s'il vous plaît",
        "ok",
        "Ich habe mein Passwort vergessen und komme nicht mehr in mein Konto, was kann ich tun?",
    ];
    for m in messages {
        let tokens = enc.ids(m).len();
        let us = time(200, || {
            std::hint::black_box(enc.encode(m));
        });
        println!("encode {tokens:>3} tokens: median {us:.0} µs  ({m:?})");
    }
    // A 50-intent workspace, 12 examples each; a 200-article knowledge base.
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for i in 0..50 {
        for j in 0..12 {
            texts.push(format!(
                "example {j} of intent number {i} about topic {} and {}",
                i * 7 % 13,
                j * 3
            ));
            labels.push(format!("intent_{i}"));
        }
    }
    let vectors = relais_nlu::vectors::encode_parallel(
        enc,
        &texts.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let tr = Instant::now();
    let model = Intents::train(
        &texts.iter().map(String::as_str).collect::<Vec<_>>(),
        &labels.iter().map(String::as_str).collect::<Vec<_>>(),
        &vectors,
    )
    .expect("trained");
    println!(
        "train 50 intents × 12 examples: {:.0} ms (vectors at hand)",
        tr.elapsed().as_secs_f64() * 1e3
    );
    let articles: Vec<Article> = (0..200)
        .map(|i| Article {
            id: format!("a{i}"),
            title: format!("Article {i} on subject {}", i % 17),
            language: ["en", "fr", "it", "es", "de"][i % 5].into(),
            tags: vec![],
            body: format!("This article explains subject {} in detail. It has several sentences. Step one, step two, step three. Contact us for more about {i}.", i % 17),
        })
        .collect();
    let ps: Vec<String> = passages(&articles).into_iter().map(|(_, p)| p).collect();
    let pv = relais_nlu::vectors::encode_parallel(
        enc,
        &ps.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let index = Index::new(articles, &pv);
    let m = messages[0];
    let v = enc.encode(m);
    let classify = time(500, || {
        std::hint::black_box(model.classify(m, &v));
    });
    let search = time(500, || {
        std::hint::black_box(index.search(m, &v, Some("en"), 3));
    });
    let whole = time(200, || {
        let v = enc.encode(m);
        std::hint::black_box(model.classify(m, &v));
        std::hint::black_box(index.search(m, &v, Some("en"), 3));
    });
    println!(
        "classify (50 intents): {classify:.0} µs; search (200 articles, {} passages): {search:.0} µs",
        ps.len()
    );
    println!("one message, encode + classify + search: median {whole:.0} µs");
}
