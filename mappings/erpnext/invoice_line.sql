-- ERPNext Sales Invoice Item and Purchase Invoice Item (child rows, read with
-- parent=<invoice DocType>) → invoice_line. source_id is `<DocType>/<name>`, like the
-- invoices'. `idx` is the position. unit_price is `net_rate`, amount `net_amount`
-- (negative on returns, like the header; lines add up to net_total). The account is the
-- line's `income_account` (sales) or `expense_account` (purchases), the unit its `uom`,
-- the currency the invoice's.
SELECT
  '${source_system}:Sales Invoice Item/' || l.name AS id,
  '${source_system}' AS source_system,
  'Sales Invoice Item/' || l.name AS source_id,
  '${source_system}:Sales Invoice/' || CAST(l.parent AS VARCHAR) AS invoice_id,
  CAST(l.idx AS BIGINT) AS sequence,
  CASE WHEN NULLIF(CAST(l.item_code AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.item_code AS VARCHAR) END AS product_id,
  COALESCE(NULLIF(CAST(l.description AS VARCHAR), ''), CAST(l.item_name AS VARCHAR)) AS description,
  CAST(CAST(l.qty AS VARCHAR) AS DECIMAL(28, 8)) AS quantity,
  CASE WHEN NULLIF(CAST(l.uom AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.uom AS VARCHAR) END AS uom_id,
  CAST(CAST(l.net_rate AS VARCHAR) AS DECIMAL(28, 8)) AS unit_price,
  CAST(CAST(l.net_amount AS VARCHAR) AS DECIMAL(28, 8)) AS amount,
  CASE WHEN NULLIF(CAST(l.income_account AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.income_account AS VARCHAR) END AS account_id,
  NULLIF(CAST(i.currency AS VARCHAR), '') AS currency
FROM sales_invoice_item l
LEFT JOIN sales_invoice i ON i.name = l.parent
UNION ALL
SELECT
  '${source_system}:Purchase Invoice Item/' || l.name,
  '${source_system}',
  'Purchase Invoice Item/' || l.name,
  '${source_system}:Purchase Invoice/' || CAST(l.parent AS VARCHAR),
  CAST(l.idx AS BIGINT),
  CASE WHEN NULLIF(CAST(l.item_code AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.item_code AS VARCHAR) END,
  COALESCE(NULLIF(CAST(l.description AS VARCHAR), ''), CAST(l.item_name AS VARCHAR)),
  CAST(CAST(l.qty AS VARCHAR) AS DECIMAL(28, 8)),
  CASE WHEN NULLIF(CAST(l.uom AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.uom AS VARCHAR) END,
  CAST(CAST(l.net_rate AS VARCHAR) AS DECIMAL(28, 8)),
  CAST(CAST(l.net_amount AS VARCHAR) AS DECIMAL(28, 8)),
  CASE WHEN NULLIF(CAST(l.expense_account AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.expense_account AS VARCHAR) END,
  NULLIF(CAST(i.currency AS VARCHAR), '')
FROM purchase_invoice_item l
LEFT JOIN purchase_invoice i ON i.name = l.parent
