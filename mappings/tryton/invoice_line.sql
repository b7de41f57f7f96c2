-- source-stream: account.invoice.line
-- Tryton account.invoice.line → invoice_line. As for order lines, only lines of type
-- `line` carry an amount.
SELECT
  '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(l.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(l.invoice AS VARCHAR) AS invoice_id,
  l.sequence,
  '${source_system}:' || CAST(l.product AS VARCHAR) AS product_id,
  l.description,
  l.quantity,
  '${source_system}:' || CAST(l.unit AS VARCHAR) AS uom_id,
  l.unit_price,
  CASE WHEN l.type = 'line' THEN l.amount END AS amount,
  '${source_system}:' || CAST(l.account AS VARCHAR) AS account_id,
  c.code AS currency
FROM account_invoice_line l
LEFT JOIN currency_currency c ON c.id = l.currency
