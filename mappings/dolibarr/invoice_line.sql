-- Dolibarr invoices.lines (llx_facturedet) → invoice_line. `subprice` is the unit
-- price before discount, `remise_percent` the discount in percent: unit_price =
-- subprice × (1 − discount). `amount` is the line's `total_ht` (negative on credit
-- notes, like the header). `rang` is the position. Text: the line's description, else
-- its label, else the product's label. The accounting account (fk_code_ventilation) and
-- the unit (fk_unit) are not mapped: NULL. The currency is the invoice's.
SELECT
  '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(l.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(l._parent_id AS VARCHAR) AS invoice_id,
  CAST(NULLIF(CAST(l.rang AS VARCHAR), '') AS BIGINT) AS sequence,
  CASE WHEN CAST(l.fk_product AS VARCHAR) NOT IN ('', '0')
       THEN '${source_system}:' || CAST(l.fk_product AS VARCHAR) END AS product_id,
  COALESCE(NULLIF(CAST(l.description AS VARCHAR), ''), NULLIF(CAST(l.label AS VARCHAR), ''),
           NULLIF(CAST(l.product_label AS VARCHAR), '')) AS description,
  l.qty AS quantity,
  CAST(NULL AS VARCHAR) AS uom_id,
  CASE WHEN COALESCE(CAST(NULLIF(CAST(l.remise_percent AS VARCHAR), '') AS DECIMAL(28, 8)), 0) = 0
       THEN CAST(l.subprice AS DECIMAL(28, 8))
       ELSE CAST(l.subprice * (100 - CAST(CAST(l.remise_percent AS VARCHAR) AS DECIMAL(28, 8))) / 100 AS DECIMAL(28, 8))
  END AS unit_price,
  l.total_ht AS amount,
  CAST(NULL AS VARCHAR) AS account_id,
  NULLIF(CAST(i.multicurrency_code AS VARCHAR), '') AS currency
FROM invoices_lines l
LEFT JOIN invoices i ON CAST(i.id AS VARCHAR) = CAST(l._parent_id AS VARCHAR)
