-- ERPNext UOM → uom, as named by the items (`stock_uom`): the UOM DocType and its
-- conversion factors are not extracted, so each unit an Item names is one uom
-- (source_id = its name), with no category or factor.
SELECT DISTINCT
  '${source_system}:' || CAST(i.stock_uom AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(i.stock_uom AS VARCHAR) AS source_id,
  CAST(i.stock_uom AS VARCHAR) AS name,
  CAST(NULL AS VARCHAR) AS symbol,
  CAST(NULL AS VARCHAR) AS category,
  CAST(NULL AS DECIMAL(28, 8)) AS factor,
  CAST(NULL AS DECIMAL(28, 8)) AS rounding,
  true AS active
FROM item i
WHERE NULLIF(CAST(i.stock_uom AS VARCHAR), '') IS NOT NULL
