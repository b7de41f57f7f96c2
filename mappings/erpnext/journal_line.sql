-- ERPNext GL Entry → journal_line, the entries that are not cancelled (see
-- journal_entry.sql). debit/credit are in the company currency; the currency column is
-- the account's (`account_currency`). party_id is set for Customer and Supplier parties
-- (`Customer/<name>`, as in party.sql), NULL for other party types.
SELECT
  '${source_system}:' || g.name AS id,
  '${source_system}' AS source_system,
  g.name AS source_id,
  '${source_system}:' || CAST(g.voucher_type AS VARCHAR) || '/' || CAST(g.voucher_no AS VARCHAR) AS entry_id,
  '${source_system}:' || CAST(g.account AS VARCHAR) AS account_id,
  CASE WHEN CAST(g.party_type AS VARCHAR) IN ('Customer', 'Supplier') AND NULLIF(CAST(g.party AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(g.party_type AS VARCHAR) || '/' || CAST(g.party AS VARCHAR) END AS party_id,
  CAST(CAST(g.debit AS VARCHAR) AS DECIMAL(28, 8)) AS debit,
  CAST(CAST(g.credit AS VARCHAR) AS DECIMAL(28, 8)) AS credit,
  NULLIF(CAST(g.account_currency AS VARCHAR), '') AS currency,
  NULLIF(CAST(g.remarks AS VARCHAR), '') AS description,
  CAST(NULLIF(CAST(g.due_date AS VARCHAR), '') AS DATE) AS maturity_date
FROM gl_entry g
WHERE COALESCE(CAST(g.is_cancelled AS VARCHAR), '0') = '0'
