//! Credentials: argon2id password hashes (on a bounded pool, `password`), login
//! throttling (`throttle`), password rules (`rules`), random bearer tokens stored only
//! as their SHA-256, and the role × scope policy every `/api` route asks.

pub mod password;
pub mod rules;
pub mod throttle;
pub mod totp;

use rand::RngCore;
use relais_core::agent::Role;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadConversations,
    ManageChannels,
    ManageAgents,
    ManageOwnTokens,
    /// Reload the workspace (admins).
    ManageFlows,
    /// Start proactive flows (`POST /api/v1/events`): admins and supervisors, or an
    /// integration's token with the `events` scope.
    SendEvents,
    /// Reply, note, claim, transfer, solve… on the conversations one may see.
    WorkConversations,
    /// Teams, members and canned responses (admins).
    ManageTeams,
    /// Enrol in, confirm or disable one's own second factor. The only permission of
    /// the session given to someone who must enrol before anything else.
    ManageOwnTotp,
    /// Read a contact's card, merge two contacts (admins).
    ManageContacts,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Permission::ReadConversations,
        Permission::ManageChannels,
        Permission::ManageAgents,
        Permission::ManageOwnTokens,
        Permission::ManageFlows,
        Permission::SendEvents,
        Permission::WorkConversations,
        Permission::ManageTeams,
        Permission::ManageOwnTotp,
        Permission::ManageContacts,
    ];

    /// The token scope that grants it.
    pub fn scope(self) -> &'static str {
        match self {
            Permission::ReadConversations => "conversations:read",
            Permission::ManageChannels
            | Permission::ManageAgents
            | Permission::ManageFlows
            | Permission::ManageTeams
            | Permission::ManageContacts => "admin",
            Permission::WorkConversations => "conversations:write",
            Permission::ManageOwnTokens => "tokens",
            Permission::SendEvents => "events",
            Permission::ManageOwnTotp => "totp",
        }
    }
}

/// Scopes a token may carry. `*` (sessions) means everything the role allows.
pub const SCOPES: [&str; 6] = [
    "*",
    "admin",
    "conversations:read",
    "conversations:write",
    "tokens",
    "events",
];

/// The policy: the role must allow it AND the token's scopes must grant it.
pub fn allows(role: Role, scopes: &[String], p: Permission) -> bool {
    let role_ok = match p {
        Permission::ReadConversations
        | Permission::ManageOwnTokens
        | Permission::WorkConversations
        | Permission::ManageOwnTotp => true,
        Permission::ManageChannels
        | Permission::ManageAgents
        | Permission::ManageFlows
        | Permission::ManageTeams
        | Permission::ManageContacts => relais_core::access::may_configure(role),
        Permission::SendEvents => role != Role::Agent,
    };
    role_ok
        && scopes
            .iter()
            .any(|s| s == "*" || s == p.scope() || (s == "admin" && role == Role::Admin))
}

/// Whether a caller holding `held` may mint a token with scope `wanted`: scopes only
/// narrow. Every permission the new scope would give (for this role) must already be
/// given by the caller's scopes, and the scope must give something.
pub fn may_grant(role: Role, held: &[String], wanted: &str) -> bool {
    let wanted = [wanted.to_owned()];
    let gives: Vec<Permission> = Permission::ALL
        .into_iter()
        .filter(|p| allows(role, &wanted, *p))
        .collect();
    !gives.is_empty() && gives.iter().all(|p| allows(role, held, *p))
}

/// Hashes on the calling thread (the CLI and the demo's first start; the server
/// uses the bounded pool in [`password::Passwords`]).
pub fn hash_password(password: &str) -> Result<String, String> {
    password::hash_with(&mut Vec::new(), password.as_bytes()).map_err(|e| e.to_string())
}

/// A new random token: `prefix_` then 256 bits as hex.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// What is stored instead of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of a presented token with a stored hash.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    token_hash(token)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_only_narrow() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // The case: a token whose only scope is `tokens` cannot mint `admin`.
        assert!(!may_grant(Role::Admin, &s(&["tokens"]), "admin"));
        assert!(may_grant(Role::Admin, &s(&["tokens"]), "tokens"));
        assert!(!may_grant(
            Role::Admin,
            &s(&["tokens"]),
            "conversations:read"
        ));
        // A session (`*`) grants what the role allows, nothing more.
        assert!(may_grant(Role::Admin, &s(&["*"]), "admin"));
        assert!(!may_grant(Role::Agent, &s(&["*"]), "admin"));
        assert!(!may_grant(Role::Agent, &s(&["*"]), "events"));
        assert!(may_grant(Role::Agent, &s(&["*"]), "conversations:write"));
        // An admin's `admin` scope covers the narrower ones.
        assert!(may_grant(Role::Admin, &s(&["admin"]), "conversations:read"));
        assert!(!may_grant(
            Role::Supervisor,
            &s(&["conversations:read"]),
            "events"
        ));
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = new_token("rat");
        assert!(a.starts_with("rat_") && a.len() == 4 + 64);
        assert_ne!(a, new_token("rat"));
        assert!(token_matches(&a, &token_hash(&a)));
        assert!(!token_matches(&a, &token_hash("other")));
    }

    #[test]
    fn policy_needs_both_role_and_scope() {
        let all = vec!["*".to_owned()];
        let read = vec!["conversations:read".to_owned()];
        let admin = vec!["admin".to_owned()];
        for p in Permission::ALL {
            assert!(allows(Role::Admin, &all, p));
            assert!(
                allows(Role::Admin, &admin, p),
                "admin scope covers {p:?} for admins"
            );
        }
        assert!(!allows(Role::Agent, &all, Permission::ManageChannels));
        assert!(!allows(Role::Supervisor, &admin, Permission::ManageAgents));
        assert!(allows(Role::Agent, &read, Permission::ReadConversations));
        assert!(
            !allows(Role::Admin, &read, Permission::ManageChannels),
            "a narrow token stays narrow"
        );
        assert!(!allows(Role::Agent, &[], Permission::ReadConversations));
    }
}
