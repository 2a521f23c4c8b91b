//! One-vs-rest linear support vector machines, L2-regularised with the squared hinge
//! loss, trained by dual coordinate descent with shrinking (Hsieh et al. 2008, the
//! algorithm of liblinear's `L2R_L2LOSS_SVC_DUAL`).
//!
//! Each example is a sparse part (TF-IDF) and a dense part (the sentence vector), plus a
//! constant bias feature. Classes train independently, on as many threads as there are
//! cores; the visiting order of each class comes from a generator seeded by the class
//! number, so the weights do not depend on the thread count.

use crate::features::Sparse;

/// The training matrix.
pub struct Design<'a> {
    pub sparse: &'a [Sparse],
    /// Row-major, `dense_dim` values per example.
    pub dense: &'a [f32],
    pub dense_dim: usize,
    /// Columns of the sparse part.
    pub sparse_dim: usize,
    /// Class of each example, `0..classes`.
    pub labels: &'a [u32],
    pub classes: usize,
}

/// The trained weights, laid out column by column (all classes' weights of a feature
/// side by side) so that scoring one example touches contiguous memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    classes: usize,
    sparse: Vec<f32>,
    dense: Vec<f32>,
    bias: Vec<f32>,
}

/// Cost of a margin violation.
pub const C: f32 = 0.5;
/// Stop when the projected gradients of a pass span less than this.
const EPS: f32 = 0.1;
const MAX_PASSES: usize = 100;

impl Design<'_> {
    fn dot(&self, i: usize, ws: &[f32], wd: &[f32], b: f32) -> f32 {
        let s: f32 = self.sparse[i]
            .iter()
            .map(|(c, v)| v * ws[*c as usize])
            .sum();
        s + dot(
            &self.dense[i * self.dense_dim..(i + 1) * self.dense_dim],
            wd,
        ) + b
    }

    fn axpy(&self, i: usize, a: f32, ws: &mut [f32], wd: &mut [f32], b: &mut f32) {
        for (c, v) in &self.sparse[i] {
            ws[*c as usize] += a * v;
        }
        let x = &self.dense[i * self.dense_dim..(i + 1) * self.dense_dim];
        for (w, x) in wd.iter_mut().zip(x) {
            *w += a * x;
        }
        *b += a;
    }

    fn norm2(&self, i: usize) -> f32 {
        let x = &self.dense[i * self.dense_dim..(i + 1) * self.dense_dim];
        self.sparse[i].iter().map(|(_, v)| v * v).sum::<f32>() + dot(x, x) + 1.0
    }
}

/// Sum of products, in 16 lanes so that it vectorises.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..16 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// One class's weights: sparse part, dense part, bias.
type Machine = (Vec<f32>, Vec<f32>, f32);

/// Trains one machine per class.
pub fn train(d: &Design<'_>) -> Linear {
    let qd: Vec<f32> = (0..d.labels.len()).map(|i| d.norm2(i)).collect();
    let threads = crate::threads().min(d.classes).max(1);
    let mut per_class: Vec<Option<Machine>> = vec![None; d.classes];
    std::thread::scope(|s| {
        let mut slots: Vec<Vec<(usize, &mut Option<_>)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (c, slot) in per_class.iter_mut().enumerate() {
            slots[c % threads].push((c, slot));
        }
        for work in slots {
            let qd = &qd;
            s.spawn(move || {
                for (c, slot) in work {
                    *slot = Some(one(d, c as u32, qd));
                }
            });
        }
    });
    let k = d.classes;
    let mut out = Linear {
        classes: k,
        sparse: vec![0.0; d.sparse_dim * k],
        dense: vec![0.0; d.dense_dim * k],
        bias: vec![0.0; k],
    };
    for (c, m) in per_class.into_iter().enumerate() {
        let (ws, wd, b) = m.expect("every class trained");
        for (j, w) in ws.into_iter().enumerate() {
            out.sparse[j * k + c] = w;
        }
        for (j, w) in wd.into_iter().enumerate() {
            out.dense[j * k + c] = w;
        }
        out.bias[c] = b;
    }
    out
}

fn one(d: &Design<'_>, class: u32, qd: &[f32]) -> Machine {
    let n = d.labels.len();
    let diag = 0.5 / C;
    let mut ws = vec![0f32; d.sparse_dim];
    let mut wd = vec![0f32; d.dense_dim];
    let mut b = 0f32;
    let mut alpha = vec![0f32; n];
    let mut index: Vec<usize> = (0..n).collect();
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15 ^ (u64::from(class) + 1));
    let mut active = n;
    // Shrinking drops an example at alpha 0 whose gradient exceeds the last pass's largest.
    let mut max_old = f32::INFINITY;
    for _ in 0..MAX_PASSES {
        for i in (1..active).rev() {
            index.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let (mut max, mut min) = (f32::NEG_INFINITY, f32::INFINITY);
        let mut s = 0;
        while s < active {
            let i = index[s];
            let y = if d.labels[i] == class { 1.0 } else { -1.0 };
            let g = y * d.dot(i, &ws, &wd, b) - 1.0 + diag * alpha[i];
            let mut pg = g;
            if alpha[i] == 0.0 {
                if g > max_old {
                    active -= 1;
                    index.swap(s, active);
                    continue;
                }
                pg = pg.min(0.0);
            }
            max = max.max(pg);
            min = min.min(pg);
            if pg.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - g / (qd[i] + diag)).max(0.0);
                let delta = (alpha[i] - old) * y;
                if delta != 0.0 {
                    d.axpy(i, delta, &mut ws, &mut wd, &mut b);
                }
            }
            s += 1;
        }
        if max - min <= EPS {
            if active == n {
                break;
            }
            active = n;
            max_old = f32::INFINITY;
            continue;
        }
        max_old = if max <= 0.0 { f32::INFINITY } else { max };
    }
    (ws, wd, b)
}

struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

impl Linear {
    pub fn heap_bytes(&self) -> usize {
        4 * (self.sparse.capacity() + self.dense.capacity() + self.bias.capacity())
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// One class's dense weights and bias (for a model with no sparse part).
    pub fn class(&self, c: usize) -> (Vec<f32>, f32) {
        let k = self.classes;
        (
            self.dense.iter().skip(c).step_by(k).copied().collect(),
            self.bias[c],
        )
    }

    /// Every class's margin for one example (`dense` of the training width; sparse
    /// columns beyond the trained ones are ignored).
    pub fn margins(&self, sparse: &Sparse, dense: &[f32]) -> Vec<f32> {
        let k = self.classes;
        let mut out = self.bias.clone();
        for (c, v) in sparse {
            if let Some(w) = self.sparse.get(*c as usize * k..(*c as usize + 1) * k) {
                for (o, w) in out.iter_mut().zip(w) {
                    *o += v * w;
                }
            }
        }
        for (x, w) in dense.iter().zip(self.dense.chunks_exact(k)) {
            for (o, w) in out.iter_mut().zip(w) {
                *o += x * w;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_classes_are_learnt_and_scores_say_which() {
        // Three classes, each with its own sparse column and dense direction.
        let sparse: Vec<Sparse> = (0..30).map(|i| vec![((i % 3) as u32, 1.0)]).collect();
        let dense: Vec<f32> = (0..30)
            .flat_map(|i| (0..4).map(move |j| if j == i % 3 { 1.0 } else { 0.0 }))
            .collect();
        let labels: Vec<u32> = (0..30).map(|i| (i % 3) as u32).collect();
        let d = Design {
            sparse: &sparse,
            dense: &dense,
            dense_dim: 4,
            sparse_dim: 3,
            labels: &labels,
            classes: 3,
        };
        let m = train(&d);
        for c in 0..3u32 {
            let mut x = [0.0; 4];
            x[c as usize] = 1.0;
            let s = m.margins(&vec![(c, 1.0)], &x);
            let best = (0..3)
                .max_by(|a, b| s[*a].total_cmp(&s[*b]))
                .expect("three");
            assert_eq!(best, c as usize, "{s:?}");
            assert!(
                s[c as usize] > 0.5 && s.iter().filter(|v| **v < -0.5).count() == 2,
                "{s:?}"
            );
        }
        assert_eq!(m, train(&d), "training is deterministic");
    }
}
