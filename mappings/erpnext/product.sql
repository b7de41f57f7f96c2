-- ERPNext Item → product (source_id = the item code, its `name`). `is_stock_item` 1 →
-- goods, 0 (services, fees) → service. `is_sales_item` → salable, `is_purchase_item` →
-- purchasable, `disabled` = 1 → not active. The category is the Item Group, the unit the
-- stock UOM. ERPNext keeps prices in Item Price (not extracted): list_price is the
-- item's `standard_rate` and cost_price its `valuation_rate`, both in the company
-- currency, which no extracted stream names (currency NULL).
SELECT
  '${source_system}:' || i.name AS id,
  '${source_system}' AS source_system,
  i.name AS source_id,
  COALESCE(NULLIF(CAST(i.item_code AS VARCHAR), ''), i.name) AS code,
  COALESCE(NULLIF(CAST(i.item_name AS VARCHAR), ''), i.name) AS name,
  CASE CAST(i.is_stock_item AS VARCHAR) WHEN '1' THEN 'goods' ELSE 'service' END AS kind,
  CASE WHEN NULLIF(CAST(i.item_group AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(i.item_group AS VARCHAR) END AS category_id,
  CASE WHEN NULLIF(CAST(i.stock_uom AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(i.stock_uom AS VARCHAR) END AS uom_id,
  CAST(CAST(i.standard_rate AS VARCHAR) AS DECIMAL(28, 8)) AS list_price,
  CAST(CAST(i.valuation_rate AS VARCHAR) AS DECIMAL(28, 8)) AS cost_price,
  CAST(NULL AS VARCHAR) AS currency,
  CAST(i.is_sales_item AS VARCHAR) = '1' AS salable,
  CAST(i.is_purchase_item AS VARCHAR) = '1' AS purchasable,
  COALESCE(CAST(i.disabled AS VARCHAR), '0') = '0' AS active
FROM item i
