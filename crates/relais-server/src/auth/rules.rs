//! What a new password must be, after OWASP ASVS 4 §2.1: at least 12 characters, at
//! most 128, not blank, not a password from a breach top list, not the account's own
//! email. No composition rules (they make passwords worse, not stronger).

const COMMON: &str = include_str!("common-passwords.txt");

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// `Err` says what is wrong, for the `password` field.
pub fn check_new_password(password: &str, email: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if password.trim().is_empty() {
        return Err("password must not be blank".into());
    }
    if chars < MIN_CHARS {
        return Err(format!(
            "password must have at least {MIN_CHARS} characters"
        ));
    }
    if chars > MAX_CHARS {
        return Err(format!("password must have at most {MAX_CHARS} characters"));
    }
    let folded = password.trim().to_lowercase();
    let distinct: std::collections::HashSet<char> = folded.chars().collect();
    if distinct.len() < 3 {
        return Err("password must not be one or two characters repeated".into());
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if folded == email || (!local.is_empty() && folded == local) {
        return Err("password must not be the email address".into());
    }
    if is_common(&folded) {
        return Err("password is on a list of breached passwords; choose another".into());
    }
    Ok(())
}

fn is_common(folded: &str) -> bool {
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asvs_rules() {
        let ok = |p: &str| check_new_password(p, "ann@shop.example");
        assert!(ok("a fine long passphrase").is_ok());
        assert!(
            ok("ÉtéÀParis2026").is_ok(),
            "counted in characters, any script"
        );
        assert!(ok("            ").unwrap_err().contains("blank"));
        assert!(ok("short").unwrap_err().contains("at least 12"));
        assert!(ok(&"ab".repeat(65)).unwrap_err().contains("at most 128"));
        assert!(ok("aaaaaaaaaaaaaaaa").unwrap_err().contains("repeated"));
        assert!(ok("Password1234").unwrap_err().contains("breached"));
        assert!(ok("QWERTYUIOP123").unwrap_err().contains("breached"));
        assert!(ok("ann@shop.example").unwrap_err().contains("email"));
        // Composition rules are not applied: all lower-case letters are fine.
        assert!(ok("horse battery staple river").is_ok());
    }

    #[test]
    fn the_list_is_read_and_all_its_entries_are_long_enough_to_matter() {
        let entries: Vec<&str> = COMMON
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect();
        assert!(entries.len() > 100);
        for e in entries {
            assert!(
                e.chars().count() >= MIN_CHARS,
                "{e:?} is shorter than the minimum"
            );
            assert_eq!(e, e.to_lowercase(), "{e:?} must be stored lower-case");
        }
    }
}
