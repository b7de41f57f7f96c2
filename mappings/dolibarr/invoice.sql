-- Dolibarr invoices (customer invoices, llx_facture) → invoice. Type: 2 (credit note,
-- "avoir") → customer_credit_note; 0 standard, 1 replacement, 3 deposit and 5 situation
-- invoices → customer_invoice. Status (`statut`): 0 draft → draft, 1 validated (unpaid)
-- → posted, 2 classified paid (fully, or partly with a closing reason) → paid,
-- 3 abandoned → cancelled. A draft's provisional number `(PROVn)` is no number: NULL.
-- Amounts keep Dolibarr's sign (a credit note's totals are negative). `amount_due` is
-- the server's `remaintopay`. Supplier invoices are not among the extracted streams.
-- Dates come as Unix times (UTC).
SELECT
  '${source_system}:' || CAST(i.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(i.id AS VARCHAR) AS source_id,
  CASE WHEN CAST(i.ref AS VARCHAR) LIKE '(PROV%' THEN CAST(NULL AS VARCHAR) ELSE CAST(i.ref AS VARCHAR) END AS number,
  CASE WHEN CAST(i.type AS VARCHAR) = '2' THEN 'customer_credit_note' ELSE 'customer_invoice' END AS kind,
  '${source_system}:' || CAST(i.socid AS VARCHAR) AS party_id,
  CAST(i."date" AS DATE) AS invoice_date,
  CAST(to_timestamp_seconds(CAST(NULLIF(CAST(i.date_lim_reglement AS VARCHAR), '') AS BIGINT)) AS DATE) AS due_date,
  CASE CAST(i.statut AS VARCHAR)
    WHEN '0' THEN 'draft'
    WHEN '1' THEN 'posted'
    WHEN '2' THEN 'paid'
    WHEN '3' THEN 'cancelled'
  END AS state,
  NULLIF(CAST(i.multicurrency_code AS VARCHAR), '') AS currency,
  i.total_ht AS untaxed_amount,
  i.total_tva AS tax_amount,
  i.total_ttc AS total_amount,
  CAST(NULLIF(CAST(i.remaintopay AS VARCHAR), '') AS DECIMAL(28, 8)) AS amount_due,
  CAST(NULL AS VARCHAR) AS origin,
  i.date_creation AS created_at
FROM invoices i
