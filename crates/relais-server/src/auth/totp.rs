//! A second factor: TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits — what every
//! authenticator app speaks) and single-use recovery codes. Pure: the time comes in as
//! a value, so the RFC's test vectors run in microseconds.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const STEP_S: i64 = 30;
pub const DIGITS: u32 = 6;
/// Codes from one step before or after are accepted (clock drift).
pub const DRIFT_STEPS: i64 = 1;
pub const RECOVERY_CODES: usize = 10;

/// RFC 4226 HOTP: the `digits`-digit code of `counter`.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return u32::MAX, // HMAC takes keys of any length; never happens
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step of `unix_s`.
pub fn step_of(unix_s: i64) -> i64 {
    unix_s.div_euclid(STEP_S)
}

/// Checks a 6-digit `code` at `unix_s`, refusing steps at or before `last_used` (a code
/// is good once). The step that matched, to remember as the new `last_used`.
pub fn verify(secret: &[u8], code: &str, unix_s: i64, last_used: Option<i64>) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_s);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|s| *s >= 0 && last_used.is_none_or(|l| *s > l))
        .find(|s| {
            let want = format!(
                "{:0width$}",
                hotp(secret, *s as u64, DIGITS),
                width = DIGITS as usize
            );
            bool::from(want.as_bytes().ct_eq(code.as_bytes()))
        })
}

/// A new 160-bit secret (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rng().fill_bytes(&mut s);
    s
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (how authenticator apps take secrets).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for b in bytes {
        buf = (buf << 8) | u64::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(B32[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` URI an authenticator app reads from a QR code.
pub fn uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_S}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

/// New recovery codes (`xxxxx-xxxxx`, 50 bits each) — shown once, stored hashed.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rng().fill_bytes(&mut bytes);
            let c: String = bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            format!("{}-{}", &c[..5], &c[5..])
        })
        .collect()
}

/// How a recovery code is compared (typed with or without the dash, any case).
pub fn normalise_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(['-', ' '], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits), and RFC 4226 appendix D (6 digits).
    #[test]
    fn the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, step_of(t) as u64, 8), code, "t={t}");
        }
        let rfc4226 = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in rfc4226.iter().enumerate() {
            assert_eq!(hotp(secret, counter as u64, 6), *code);
        }
    }

    #[test]
    fn a_code_is_good_once_within_the_drift_window() {
        let secret = b"12345678901234567890";
        let t = 1_111_111_109;
        let code = format!("{:06}", hotp(secret, step_of(t) as u64, 6));
        let step = verify(secret, &code, t, None).expect("the current code");
        assert_eq!(step, step_of(t));
        assert_eq!(verify(secret, &code, t, Some(step)), None, "replayed");
        assert!(
            verify(secret, &code, t + 30, None).is_some(),
            "one step late"
        );
        assert_eq!(verify(secret, &code, t + 90, None), None, "too late");
        assert_eq!(verify(secret, "12345", t, None), None);
        assert_eq!(verify(secret, "abcdef", t, None), None);
    }

    #[test]
    fn base32_and_uri() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let u = uri("Relais", "ann@shop.example", b"12345678901234567890");
        assert!(
            u.starts_with(
                "otpauth://totp/Relais:ann%40shop.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            ),
            "{u}"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        assert_eq!(normalise_recovery(" ABCDE-fghjk "), "abcdefghjk");
    }
}
