-- Tryton stock.location → stock_location. Storage locations are `internal`; a
-- warehouse groups its input, output and storage locations, so it is a `view`;
-- lost-and-found is where inventories book differences: `inventory`; drop-shipping
-- locations are `transit`.
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  code,
  name,
  CASE type
    WHEN 'storage' THEN 'internal'
    WHEN 'warehouse' THEN 'view'
    WHEN 'view' THEN 'view'
    WHEN 'supplier' THEN 'supplier'
    WHEN 'customer' THEN 'customer'
    WHEN 'lost_found' THEN 'inventory'
    WHEN 'production' THEN 'production'
    WHEN 'drop' THEN 'transit'
    ELSE 'other'
  END AS kind,
  '${source_system}:' || CAST(parent AS VARCHAR) AS parent_id,
  active
FROM stock_location
