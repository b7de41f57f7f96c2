-- Dolibarr stockmovements (llx_stock_mouvement) → stock_move. A Dolibarr movement is
-- one warehouse and a signed quantity: positive (types 0 manual entry, 3 entry) comes
-- into the warehouse from outside (from_location_id NULL), negative (types 1 manual
-- exit, 2 exit) leaves it (to_location_id NULL); quantity is the absolute value. Every
-- recorded movement has happened: state `done`, effective on `datem`. The reference is
-- the inventory code when there is one, else the label. `price` is the unit value
-- recorded with the move (company currency, not named: currency NULL).
SELECT
  '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(m.id AS VARCHAR) AS source_id,
  COALESCE(NULLIF(CAST(m.inventorycode AS VARCHAR), ''), NULLIF(CAST(m.label AS VARCHAR), '')) AS reference,
  '${source_system}:' || CAST(m.product_id AS VARCHAR) AS product_id,
  CASE WHEN m.qty < 0 THEN -m.qty ELSE m.qty END AS quantity,
  CAST(NULL AS VARCHAR) AS uom_id,
  CASE WHEN m.qty < 0 THEN '${source_system}:' || CAST(m.warehouse_id AS VARCHAR) END AS from_location_id,
  CASE WHEN m.qty >= 0 THEN '${source_system}:' || CAST(m.warehouse_id AS VARCHAR) END AS to_location_id,
  'done' AS state,
  CAST(NULL AS DATE) AS planned_date,
  CAST(to_timestamp_seconds(CAST(NULLIF(CAST(m.datem AS VARCHAR), '') AS BIGINT)) AS DATE) AS effective_date,
  m.price AS unit_price,
  CAST(NULL AS VARCHAR) AS currency
FROM stockmovements m
