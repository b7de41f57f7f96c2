-- Dolibarr products (llx_product) → product. `type` 0 (product) → goods, 1 (service) →
-- service. `status` (on sale) → salable, `status_buy` (on purchase) → purchasable;
-- Dolibarr has no archive flag, so a product neither sold nor bought is not active.
-- `price` is the sale price before tax (Dolibarr keeps it even when prices are entered
-- tax included). `cost_price` is the cost price, else the weighted average cost (pmp)
-- when it is not zero. The list API carries no category link nor a currency (prices
-- are in the company's currency, which no extracted stream names): both NULL. Units
-- (fk_unit) are not mapped: uom_id NULL.
SELECT
  '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(p.id AS VARCHAR) AS source_id,
  NULLIF(CAST(p.ref AS VARCHAR), '') AS code,
  COALESCE(NULLIF(CAST(p.label AS VARCHAR), ''), CAST(p.ref AS VARCHAR)) AS name,
  CASE CAST(p.type AS VARCHAR) WHEN '0' THEN 'goods' WHEN '1' THEN 'service' END AS kind,
  CAST(NULL AS VARCHAR) AS category_id,
  CAST(NULL AS VARCHAR) AS uom_id,
  CAST(p.price AS DECIMAL(28, 8)) AS list_price,
  COALESCE(CAST(NULLIF(CAST(p.cost_price AS VARCHAR), '') AS DECIMAL(28, 8)),
           NULLIF(CAST(NULLIF(CAST(p.pmp AS VARCHAR), '') AS DECIMAL(28, 8)), 0)) AS cost_price,
  CAST(NULL AS VARCHAR) AS currency,
  CAST(p.status AS VARCHAR) = '1' AS salable,
  CAST(p.status_buy AS VARCHAR) = '1' AS purchasable,
  CAST(p.status AS VARCHAR) = '1' OR CAST(p.status_buy AS VARCHAR) = '1' AS active
FROM products p
