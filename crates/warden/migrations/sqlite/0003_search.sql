-- Full-text search over what cases say: the subject's snapshot text (each version a report brought),
-- each report's free text and each note. Rows are written in the transaction of the change that
-- brings the text. unicode61 folds case and, with remove_diacritics 2, accents ("cafe" finds
-- "café"); PostgreSQL's 'simple' configuration folds case only: the one difference between engines.
-- No stemming on either, so both match the same words.
CREATE VIRTUAL TABLE search_docs USING fts5(
    body,
    case_id UNINDEXED,
    kind UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- What existing databases already hold: the current subject text of each case, reports and notes.
INSERT INTO search_docs (body, case_id, kind)
SELECT json_extract(state, '$.snapshot.text'), id, 'subject' FROM cases
WHERE trim(coalesce(json_extract(state, '$.snapshot.text'), '')) <> '';
INSERT INTO search_docs (body, case_id, kind)
SELECT json_extract(body, '$.text'), case_id, 'report' FROM reports
WHERE trim(coalesce(json_extract(body, '$.text'), '')) <> '';
INSERT INTO search_docs (body, case_id, kind)
SELECT body, case_id, 'note' FROM notes WHERE trim(body) <> '';
