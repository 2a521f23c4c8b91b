-- A second factor (TOTP) per agent, and their single-use recovery codes (SHA-256).
ALTER TABLE agents ADD COLUMN totp_secret TEXT;             -- hex; set when enrolment starts
ALTER TABLE agents ADD COLUMN totp_enabled BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN totp_last_step BIGINT;           -- a code is good once
CREATE TABLE recovery_codes (
    agent_id BIGINT NOT NULL REFERENCES agents(id),
    hash     TEXT NOT NULL,
    used_at  BIGINT,
    PRIMARY KEY (agent_id, hash)
);
