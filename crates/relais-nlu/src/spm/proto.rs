//! Just enough of protocol buffers to read a SentencePiece model file: its pieces and
//! the trainer's and normaliser's settings the encoder needs.

use super::*;

// ---------------------------------------------------------------------------------------
// Protocol buffers, just enough of them.

#[derive(Clone, Copy)]
pub(super) enum Wire {
    Varint(u64),
    Fixed64,
    Bytes(usize, usize),
    Fixed32(u32),
}

impl Wire {
    pub(super) fn name(self) -> &'static str {
        match self {
            Wire::Varint(_) => "varint",
            Wire::Fixed64 => "fixed64",
            Wire::Bytes(..) => "length-delimited",
            Wire::Fixed32(_) => "fixed32",
        }
    }
}

/// One field of a message; offsets are from the start of the model file.
pub(super) struct Field {
    pub(super) number: u64,
    pub(super) at: usize,
    pub(super) wire: Wire,
}

impl Field {
    pub(super) fn mismatch(&self, what: &str, expected: &str) -> SpmError {
        invalid(format!(
            "{what} (field {}) at byte {} is {}, expected {expected}",
            self.number,
            self.at,
            self.wire.name()
        ))
    }

    pub(super) fn bytes(&self, what: &str) -> Result<Range<usize>, SpmError> {
        match self.wire {
            Wire::Bytes(start, end) => Ok(start..end),
            _ => Err(self.mismatch(what, "length-delimited")),
        }
    }

    pub(super) fn varint(&self, what: &str) -> Result<u64, SpmError> {
        match self.wire {
            Wire::Varint(v) => Ok(v),
            _ => Err(self.mismatch(what, "varint")),
        }
    }

    pub(super) fn fixed32(&self, what: &str) -> Result<u32, SpmError> {
        match self.wire {
            Wire::Fixed32(v) => Ok(v),
            _ => Err(self.mismatch(what, "fixed32")),
        }
    }
}

/// The fields of one message, `data[pos..end]`.
pub(super) struct Fields<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) end: usize,
}

impl<'a> Fields<'a> {
    pub(super) fn new(data: &'a [u8], range: Range<usize>) -> Fields<'a> {
        Fields {
            data,
            pos: range.start,
            end: range.end.min(data.len()),
        }
    }

    pub(super) fn varint(&mut self) -> Result<u64, SpmError> {
        let at = self.pos;
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            if self.pos >= self.end {
                return Err(invalid(format!(
                    "varint at byte {at} runs past the end of its message (byte {})",
                    self.end
                )));
            }
            let b = self.data[self.pos];
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(invalid(format!("varint at byte {at} overflows 64 bits")));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    pub(super) fn take(&mut self, len: u64, what: &str, at: usize) -> Result<usize, SpmError> {
        let left = self.end - self.pos;
        if len > left as u64 {
            return Err(invalid(format!(
                "{what} at byte {at} needs {len} bytes but its message has {left} left"
            )));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(start)
    }

    pub(super) fn next_field(&mut self) -> Result<Option<Field>, SpmError> {
        if self.pos >= self.end {
            return Ok(None);
        }
        let at = self.pos;
        let tag = self.varint()?;
        let number = tag >> 3;
        if number == 0 || number >= 1 << 29 {
            return Err(invalid(format!(
                "invalid field number {number} at byte {at}"
            )));
        }
        let wire = match tag & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8, "fixed64 field", at)?;
                Wire::Fixed64
            }
            2 => {
                let len = self.varint()?;
                let start = self.take(len, "length-delimited field", at)?;
                Wire::Bytes(start, self.pos)
            }
            5 => {
                let start = self.take(4, "fixed32 field", at)?;
                let mut word = [0u8; 4];
                word.copy_from_slice(&self.data[start..start + 4]);
                Wire::Fixed32(u32::from_le_bytes(word))
            }
            w => {
                return Err(invalid(format!(
                    "unsupported wire type {w} (field {number}) at byte {at}"
                )));
            }
        };
        Ok(Some(Field { number, at, wire }))
    }
}

// ---------------------------------------------------------------------------------------
// The model file.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
}

pub(super) struct RawPiece<'a> {
    pub(super) text: &'a [u8],
    pub(super) score: f32,
    pub(super) kind: Kind,
    pub(super) at: usize,
}

pub(super) fn parse_piece<'a>(model: &'a [u8], field: &Field) -> Result<RawPiece<'a>, SpmError> {
    let range = field.bytes("piece")?;
    let mut piece = RawPiece {
        text: &[],
        score: 0.0,
        kind: Kind::Normal,
        at: field.at,
    };
    let mut fields = Fields::new(model, range);
    while let Some(f) = fields.next_field()? {
        match f.number {
            1 => piece.text = &model[f.bytes("piece text")?],
            2 => piece.score = f32::from_bits(f.fixed32("piece score")?),
            3 => {
                piece.kind = match f.varint("piece type")? {
                    1 => Kind::Normal,
                    2 => Kind::Unknown,
                    3 => Kind::Control,
                    4 => Kind::UserDefined,
                    5 => Kind::Unused,
                    6 => {
                        return Err(invalid(format!(
                            "byte piece at byte {}: byte fallback is not supported",
                            f.at
                        )));
                    }
                    t => {
                        return Err(invalid(format!("unknown piece type {t} at byte {}", f.at)));
                    }
                }
            }
            _ => {}
        }
    }
    if piece.text.is_empty() {
        return Err(invalid(format!("empty piece at byte {}", field.at)));
    }
    Ok(piece)
}

/// What the encoder needs from `normalizer_spec` and `trainer_spec`.
pub(super) struct Specs {
    pub(super) charsmap: Option<(Range<usize>, usize)>,
    pub(super) add_dummy_prefix: bool,
    pub(super) remove_extra_whitespaces: bool,
    pub(super) escape_whitespaces: bool,
    pub(super) whitespace_as_suffix: bool,
    pub(super) has_normalizer: bool,
}

pub(super) fn parse_trainer_spec(
    model: &[u8],
    field: &Field,
    specs: &mut Specs,
) -> Result<(), SpmError> {
    let mut fields = Fields::new(model, field.bytes("trainer_spec")?);
    while let Some(f) = fields.next_field()? {
        match f.number {
            3 => {
                let model_type = f.varint("trainer_spec.model_type")?;
                if model_type != 1 {
                    return Err(invalid(format!(
                        "model type {model_type} at byte {} is not unigram (1)",
                        f.at
                    )));
                }
            }
            24 => specs.whitespace_as_suffix = f.varint("treat_whitespace_as_suffix")? != 0,
            35 if f.varint("byte_fallback")? != 0 => {
                return Err(invalid(format!(
                    "byte_fallback at byte {} is set: not supported",
                    f.at
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn parse_normalizer_spec(
    model: &[u8],
    field: &Field,
    specs: &mut Specs,
) -> Result<(), SpmError> {
    specs.has_normalizer = true;
    let mut fields = Fields::new(model, field.bytes("normalizer_spec")?);
    while let Some(f) = fields.next_field()? {
        match f.number {
            2 => specs.charsmap = Some((f.bytes("precompiled_charsmap")?, f.at)),
            3 => specs.add_dummy_prefix = f.varint("add_dummy_prefix")? != 0,
            4 => specs.remove_extra_whitespaces = f.varint("remove_extra_whitespaces")? != 0,
            5 => specs.escape_whitespaces = f.varint("escape_whitespaces")? != 0,
            _ => {}
        }
    }
    Ok(())
}
