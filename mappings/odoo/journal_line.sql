-- Odoo 19 account.move.line -> journal_line: the lines with an account (sections and
-- notes have none) of the moves journal_entry.sql keeps. party_id is the commercial
-- entity of partner_id; debit / credit are in the company currency; currency is the
-- line's currency; maturity_date is date_maturity.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(l.move_id AS VARCHAR) AS entry_id,
    '${source_system}:' || CAST(l.account_id AS VARCHAR) AS account_id,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS party_id,
    CAST(COALESCE(l.debit, 0) AS DECIMAL(28, 8)) AS debit,
    CAST(COALESCE(l.credit, 0) AS DECIMAL(28, 8)) AS credit,
    c.name AS currency,
    l.name AS description,
    l.date_maturity AS maturity_date
FROM account_move_line l
JOIN account_move m ON m.id = l.move_id
LEFT JOIN res_partner p ON p.id = l.partner_id
LEFT JOIN res_currency c ON c.id = l.currency_id
WHERE l.account_id IS NOT NULL AND m.state <> 'cancel'
