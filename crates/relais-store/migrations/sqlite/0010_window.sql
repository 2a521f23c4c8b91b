-- The contact's last message on a channel: WhatsApp, Messenger and Instagram accept
-- free text only within 24 hours of it (the customer-service window).
ALTER TABLE contact_identities ADD COLUMN last_inbound_at INTEGER;
-- One contact across channels: a phone number already known on WhatsApp or SMS is the
-- same contact (found by address), and a contact's identities are listed by contact.
CREATE INDEX contact_identities_address ON contact_identities (address);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id, created_at, channel_id);
-- A contact's own STOP (or START): an event's `consent` never overrides their opt-out.
ALTER TABLE contact_consents ADD COLUMN by_contact INTEGER NOT NULL DEFAULT 0;
