//! Contacts: customers, with their channel identities and attributes.

use crate::id::{ChannelId, ContactId};
use serde::{Deserialize, Serialize};

/// A customer as the bot and agents see them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: Option<String>,
    /// ISO 639-1 code (`fr`, `en`, `it`); `None` until known.
    pub language: Option<String>,
    /// `standard`, `vip`, or any tier the business uses.
    pub tier: String,
    /// Custom attributes, a JSON object.
    pub fields: serde_json::Value,
}

/// How a contact is reached on one channel: a phone number, a Telegram id, a
/// page-scoped id, an email address, or the REST channel's `sender`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    pub channel: ChannelId,
    pub address: String,
}

/// Longest accepted address; providers' ids are far shorter.
pub const MAX_ADDRESS_LEN: usize = 256;

impl Identity {
    /// An address is non-empty printable text of at most [`MAX_ADDRESS_LEN`] bytes.
    pub fn new(channel: ChannelId, address: &str) -> Result<Self, String> {
        if address.trim().is_empty() {
            return Err("must not be empty".into());
        }
        if address.len() > MAX_ADDRESS_LEN {
            return Err(format!("must be at most {MAX_ADDRESS_LEN} bytes"));
        }
        if address.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self {
            channel,
            address: address.to_owned(),
        })
    }
}

/// The contact's address on a `to` channel reached by phone, from its address on a
/// `from` channel reached by phone: WhatsApp's `wa_id` is the number's digits, SMS
/// uses E.164 (`+` and digits). `None` when either kind is not a phone channel.
pub fn same_phone(from_kind: &str, address: &str, to_kind: &str) -> Option<String> {
    let digits: String = address.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 || digits.len() > 15 {
        return None;
    }
    match (from_kind, to_kind) {
        ("whatsapp" | "sms", "sms") => Some(format!("+{digits}")),
        ("whatsapp" | "sms", "whatsapp") => Some(digits),
        _ => None,
    }
}
