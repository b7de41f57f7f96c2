-- Tryton account.move.line → journal_line. Debit and credit are in the company
-- currency, whose code is `currency`.
SELECT
  '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(l.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(l.move AS VARCHAR) AS entry_id,
  '${source_system}:' || CAST(l.account AS VARCHAR) AS account_id,
  '${source_system}:' || CAST(l.party AS VARCHAR) AS party_id,
  l.debit,
  l.credit,
  c.code AS currency,
  l.description,
  l.maturity_date
FROM account_move_line l
LEFT JOIN currency_currency c ON c.id = l.currency
