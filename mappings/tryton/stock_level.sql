-- Tryton keeps no on-hand table: quantities are computed from moves. Here, per
-- product and internal (storage) location, done moves in minus done moves out, in
-- the product's default unit (Tryton's `internal_quantity`). Rows with zero stock are
-- left out. The key is `product/location`.
WITH flows AS (
  SELECT product, to_location AS location, internal_quantity AS q FROM stock_move WHERE state = 'done'
  UNION ALL
  SELECT product, from_location AS location, -internal_quantity AS q FROM stock_move WHERE state = 'done'
), levels AS (
  SELECT f.product, f.location, SUM(f.q) AS quantity
  FROM flows f JOIN stock_location l ON l.id = f.location AND l.type = 'storage'
  GROUP BY f.product, f.location
)
SELECT
  '${source_system}:' || CAST(v.product AS VARCHAR) || '/' || CAST(v.location AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(v.product AS VARCHAR) || '/' || CAST(v.location AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(v.product AS VARCHAR) AS product_id,
  '${source_system}:' || CAST(v.location AS VARCHAR) AS location_id,
  CAST(v.quantity AS DECIMAL(28, 8)) AS quantity,
  '${source_system}:' || CAST(t.default_uom AS VARCHAR) AS uom_id,
  CAST(NULL AS VARCHAR) AS lot
FROM levels v
JOIN product_product p ON p.id = v.product
JOIN product_template t ON t.id = p.template
WHERE v.quantity <> 0
