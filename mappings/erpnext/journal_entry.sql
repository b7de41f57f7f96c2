-- ERPNext GL Entry → journal_entry: ERPNext posts no entry document of its own, the
-- ledger lines of one voucher (Sales Invoice, Payment Entry, Journal Entry, …) are the
-- entry. So one journal_entry per (voucher_type, voucher_no) among the GL entries that
-- are not cancelled (`is_cancelled` = 0; a cancelled voucher's entries and their
-- reversal are left out); source_id `<voucher_type>/<voucher_no>`, number the voucher
-- name, journal the voucher type, date the posting date. GL entries exist only once a
-- document is submitted: state posted.
SELECT
  '${source_system}:' || CAST(voucher_type AS VARCHAR) || '/' || CAST(voucher_no AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(voucher_type AS VARCHAR) || '/' || CAST(voucher_no AS VARCHAR) AS source_id,
  CAST(voucher_no AS VARCHAR) AS number,
  min(CAST(NULLIF(CAST(posting_date AS VARCHAR), '') AS DATE)) AS entry_date,
  CAST(voucher_type AS VARCHAR) AS journal,
  'posted' AS state,
  CAST(voucher_no AS VARCHAR) AS reference
FROM gl_entry
WHERE COALESCE(CAST(is_cancelled AS VARCHAR), '0') = '0'
GROUP BY CAST(voucher_type AS VARCHAR), CAST(voucher_no AS VARCHAR)
