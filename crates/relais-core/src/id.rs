//! Identifier newtypes: a contact id is never mistaken for a conversation id.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// A customer.
    ContactId
);
int_id!(
    /// A thread between one contact and the business on one channel.
    ConversationId
);
int_id!(
    /// A message (inbound, outbound or internal note).
    MessageId
);
int_id!(
    /// A person working in Relais.
    AgentId
);
int_id!(
    /// A durable timer.
    TimerId
);

/// A channel, named by its configured id (`wa-main`, `api`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub String);

impl ChannelId {
    /// Channel ids are short slugs: ASCII letters, digits, `-` and `_`, 1 to 64 characters.
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "channel id {s:?} must be 1 to 64 characters among letters, digits, '-' and '_'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_are_slugs() {
        assert!(ChannelId::parse("wa-main_2").is_ok());
        for bad in ["", "a b", "é", "x/y", &"a".repeat(65)] {
            assert!(ChannelId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
