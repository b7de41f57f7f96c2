-- source-stream: purchase.line
-- Tryton purchase.line → purchase_order_line. Every line is kept (comments, titles and
-- subtotals too, so counts match Tryton's), but only lines of type `line` carry an
-- amount: a subtotal line's amount repeats the lines above it. Tryton's base purchase
-- module has no discount: NULL.
SELECT
  '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(l.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(l.purchase AS VARCHAR) AS order_id,
  l.sequence,
  '${source_system}:' || CAST(l.product AS VARCHAR) AS product_id,
  l.description,
  l.quantity,
  '${source_system}:' || CAST(l.unit AS VARCHAR) AS uom_id,
  l.unit_price,
  CAST(NULL AS DECIMAL(28, 8)) AS discount,
  CASE WHEN l.type = 'line' THEN l.amount END AS amount,
  c.code AS currency
FROM purchase_line l
LEFT JOIN currency_currency c ON c.id = l.currency
