-- 0020 message templates made on the Templates page or through the API (SPEC §6, §9):
-- added to templates.yaml's when the workspace loads (a template of the file with the
-- same name and language wins).
CREATE TABLE message_templates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    category    TEXT NOT NULL,
    body        TEXT NOT NULL,
    buttons     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (name, language)
);
