-- Tryton account.move → journal_entry.
SELECT
  '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(m.id AS VARCHAR) AS source_id,
  m.number,
  m.date AS entry_date,
  j.name AS journal,
  m.state,
  COALESCE(m.description, m.origin) AS reference
FROM account_move m
LEFT JOIN account_journal j ON j.id = m.journal
