-- When a web chat visitor last had a page open (written at most every 30 s by the
-- page's socket or poll): on any node, a reply to a visitor who has left goes to the
-- channel's fallback instead.
ALTER TABLE contact_identities ADD COLUMN seen_at INTEGER;
