-- 0019 knowledge base (SPEC §8): the articles `answer` steps and agents' suggestions
-- search. kb/*.md files are copied in when the workspace loads (a file's article is
-- written again only when the file changed, so an edit made on the page stays until
-- the file itself changes); the API and the Articles page create and edit them here.
CREATE TABLE kb_articles (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    language    TEXT NOT NULL,
    tags        TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- The kb/*.md file it came from, and the SHA-256 of that file's text when copied.
    file        TEXT,
    file_hash   TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
