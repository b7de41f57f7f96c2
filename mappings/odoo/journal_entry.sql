-- Odoo 19 account.move -> journal_entry: every move (invoices included: they are
-- entries too), except cancelled ones, which are not in the books. number is NULL
-- while a draft is named '/'; journal is the journal's code; reference is `ref`.
SELECT
    '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(m.id AS VARCHAR) AS source_id,
    NULLIF(m.name, '/') AS number,
    m.date AS entry_date,
    j.code AS journal,
    CASE m.state WHEN 'posted' THEN 'posted' ELSE 'draft' END AS state,
    m.ref AS reference
FROM account_move m
LEFT JOIN account_journal j ON j.id = m.journal_id
WHERE m.state <> 'cancel'
