-- Tryton product.category → product_category (accounting categories included: they
-- are categories in Tryton too, flagged `accounting`).
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  name,
  '${source_system}:' || CAST(parent AS VARCHAR) AS parent_id
FROM product_category
