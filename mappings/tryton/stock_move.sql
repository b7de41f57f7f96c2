-- Tryton stock.move → stock_move. `staging` (a move proposed by a document not yet
-- confirmed) counts as `draft`. The reference is the shipment (`model,id`).
SELECT
  '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(m.id AS VARCHAR) AS source_id,
  m.shipment AS reference,
  '${source_system}:' || CAST(m.product AS VARCHAR) AS product_id,
  m.quantity,
  '${source_system}:' || CAST(m.unit AS VARCHAR) AS uom_id,
  '${source_system}:' || CAST(m.from_location AS VARCHAR) AS from_location_id,
  '${source_system}:' || CAST(m.to_location AS VARCHAR) AS to_location_id,
  CASE m.state WHEN 'staging' THEN 'draft' ELSE m.state END AS state,
  m.planned_date,
  m.effective_date,
  m.unit_price,
  c.code AS currency
FROM stock_move m
LEFT JOIN currency_currency c ON c.id = m.currency
