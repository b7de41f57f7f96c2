-- Tryton product.uom → uom. Tryton's factor is already "reference units per unit"
-- (gram: 0.001 in the weight category whose reference is the kilogram); it is a float
-- in Tryton, cast to the canonical decimal (8 decimals).
SELECT
  '${source_system}:' || CAST(u.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(u.id AS VARCHAR) AS source_id,
  u.name, u.symbol,
  c.name AS category,
  CAST(u.factor AS DECIMAL(28, 8)) AS factor,
  CAST(u.rounding AS DECIMAL(28, 8)) AS rounding,
  u.active
FROM product_uom u
LEFT JOIN product_uom_category c ON c.id = u.category
