//! `relais nlu eval`: how well the intent classifier does on a labelled test file, trained
//! on a labelled training file (SPEC §8).
//!
//! The out-of-scope threshold is chosen from the training file only: a fifth of each
//! intent's examples (every fifth one) is held out, a classifier trained on the rest, and
//! the threshold is the highest margin at which the held-out in-scope accuracy loses at
//! most half a point to the accuracy without a threshold. When the test file has no `oos`
//! rows the evaluation is closed-set (every test row has an intent), and no threshold
//! applies.

use crate::encoder::DIM;
use crate::intent::{Intents, OOS};

/// One labelled row of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub text: String,
    pub label: String,
}

/// A CSV file that cannot be read, with the line where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

/// Reads a CSV file with a header row: the first column is the text, the second the
/// label (RFC 4180 quoting; other columns ignored).
pub fn read_csv(text: &str) -> Result<Vec<Row>, CsvError> {
    let mut rows = Vec::new();
    for (line, fields) in records(text)? {
        let mut f = fields.into_iter();
        let (text, label) = (f.next().unwrap_or_default(), f.next().unwrap_or_default());
        if label.trim().is_empty() {
            return Err(CsvError {
                line,
                message: "no label in the second column".into(),
            });
        }
        rows.push(Row {
            text,
            label: label.trim().to_owned(),
        });
    }
    Ok(rows)
}

/// Every record under the header, with the line it starts on (blank lines skipped).
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut rows = Vec::new();
    let mut chars = text
        .strip_prefix('\u{feff}')
        .unwrap_or(text)
        .chars()
        .peekable();
    let mut line = 1;
    let mut first = true;
    while chars.peek().is_some() {
        let start = line;
        let mut fields: Vec<String> = vec![String::new()];
        let mut quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(CsvError {
                        line: start,
                        message: "a quoted field is not closed".into(),
                    });
                }
                break;
            };
            let field = fields.last_mut().expect("a field");
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' if quoted => quoted = false,
                '"' if field.is_empty() => quoted = true,
                ',' if !quoted => fields.push(String::new()),
                '\r' if !quoted && chars.peek() == Some(&'\n') => {}
                '\n' if !quoted => {
                    line += 1;
                    break;
                }
                c => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
        }
        if std::mem::take(&mut first) || fields.iter().all(String::is_empty) {
            continue;
        }
        rows.push((start, fields));
    }
    Ok(rows)
}

/// The figures `relais nlu eval` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub train_rows: usize,
    pub intents: usize,
    pub test_rows: usize,
    /// Over every test row.
    pub accuracy: f64,
    /// When the test file has `oos` rows: the threshold used and how it was chosen.
    pub open: Option<Open>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub threshold: f32,
    pub held_out: usize,
    pub in_scope_accuracy: f64,
    pub oos_recall: f64,
}

/// Trains on `train` and tests on `test`, given every row's sentence vector.
pub fn evaluate(
    train: &[Row],
    train_vectors: &[[f32; DIM]],
    test: &[Row],
    test_vectors: &[[f32; DIM]],
) -> Option<Report> {
    let open_set = test.iter().any(|r| r.label == OOS);
    let mut held_out = 0;
    let threshold = if open_set {
        let (t, n) = choose_threshold(train, train_vectors);
        held_out = n;
        t
    } else {
        f32::NEG_INFINITY
    };
    let mut model = fit(train, train_vectors, |_| true)?;
    model.threshold = threshold;
    let mut right = 0;
    let (mut in_right, mut in_n, mut oos_right, mut oos_n) = (0, 0, 0, 0);
    for (r, v) in test.iter().zip(test_vectors) {
        let said = model.classify(&r.text, v).intent.unwrap_or(OOS);
        let ok = said == r.label;
        right += usize::from(ok);
        if r.label == OOS {
            oos_n += 1;
            oos_right += usize::from(ok);
        } else {
            in_n += 1;
            in_right += usize::from(ok);
        }
    }
    let frac = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Some(Report {
        train_rows: train.len(),
        intents: model.labels().iter().filter(|l| *l != OOS).count(),
        test_rows: test.len(),
        accuracy: frac(right, test.len()),
        open: open_set.then(|| Open {
            threshold,
            held_out,
            in_scope_accuracy: frac(in_right, in_n),
            oos_recall: frac(oos_right, oos_n),
        }),
    })
}

fn fit(rows: &[Row], vectors: &[[f32; DIM]], keep: impl Fn(usize) -> bool) -> Option<Intents> {
    let idx: Vec<usize> = (0..rows.len()).filter(|i| keep(*i)).collect();
    let texts: Vec<&str> = idx.iter().map(|i| rows[*i].text.as_str()).collect();
    let labels: Vec<&str> = idx.iter().map(|i| rows[*i].label.as_str()).collect();
    let vecs: Vec<[f32; DIM]> = idx.iter().map(|i| vectors[*i]).collect();
    Intents::train(&texts, &labels, &vecs)
}

/// Share of held-out in-scope rows the threshold may turn from right to out of scope.
const LOSS: f64 = 0.005;

/// The threshold, from a held-out fifth of the training rows; and how many were held out.
pub fn choose_threshold(rows: &[Row], vectors: &[[f32; DIM]]) -> (f32, usize) {
    // Every fifth example of each label, counted in file order.
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    let held: Vec<bool> = rows
        .iter()
        .map(|r| {
            let n = seen.entry(r.label.as_str()).or_default();
            *n += 1;
            n.is_multiple_of(5)
        })
        .collect();
    let Some(model) = fit(rows, vectors, |i| !held[i]) else {
        return (crate::intent::DEFAULT_THRESHOLD, 0);
    };
    // Held-out in-scope rows: (right without threshold, margin).
    let mut scored: Vec<(bool, f32)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if held[i] && r.label != OOS {
            let g = model.classify(&r.text, &vectors[i]);
            scored.push((g.best == r.label, g.margin));
        }
    }
    if scored.is_empty() {
        return (crate::intent::DEFAULT_THRESHOLD, 0);
    }
    let n = scored.len() as f64;
    // Raise the threshold through the right answers' margins, lowest first, while the
    // accuracy (rejections counted wrong) stays within half a point.
    let mut right_margins: Vec<f32> = scored.iter().filter(|s| s.0).map(|s| s.1).collect();
    right_margins.sort_by(f32::total_cmp);
    let allowed = ((LOSS * n).floor() as usize).min(right_margins.len().saturating_sub(1));
    let threshold = right_margins
        .get(allowed)
        .copied()
        .unwrap_or(crate::intent::DEFAULT_THRESHOLD);
    (threshold, scored.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_newlines_and_a_header() {
        let rows = read_csv(
            "text,category\n\"hello, \"\"world\"\"\",greet\r\nbye,leave\n\n\"two\nlines\",x\n",
        )
        .expect("valid");
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            Row {
                text: "hello, \"world\"".into(),
                label: "greet".into()
            }
        );
        assert_eq!(rows[2].text, "two\nlines");
    }

    #[test]
    fn csv_errors_say_the_line() {
        let e = read_csv("text,label\nok,a\nno label here\n").expect_err("no label");
        assert_eq!(e.line, 3);
        let e = read_csv("text,label\n\"open,a\n").expect_err("open quote");
        assert_eq!(e.line, 2);
    }
}
