-- ERPNext Purchase Order Item (child rows of Purchase Order, read with parent=Purchase Order) →
-- purchase_order_line. `idx` is the position, `parent` the order. unit_price is `net_rate`
-- (after the line's and the document's discounts), amount `net_amount` (so lines add
-- up to the order's net_total), discount `discount_percentage` / 100. The unit is the
-- line's `uom`, the currency the order's.
SELECT
  '${source_system}:' || l.name AS id,
  '${source_system}' AS source_system,
  l.name AS source_id,
  '${source_system}:' || CAST(l.parent AS VARCHAR) AS order_id,
  CAST(l.idx AS BIGINT) AS sequence,
  CASE WHEN NULLIF(CAST(l.item_code AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.item_code AS VARCHAR) END AS product_id,
  COALESCE(NULLIF(CAST(l.description AS VARCHAR), ''), CAST(l.item_name AS VARCHAR)) AS description,
  CAST(CAST(l.qty AS VARCHAR) AS DECIMAL(28, 8)) AS quantity,
  CASE WHEN NULLIF(CAST(l.uom AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(l.uom AS VARCHAR) END AS uom_id,
  CAST(CAST(l.net_rate AS VARCHAR) AS DECIMAL(28, 8)) AS unit_price,
  CAST(CAST(COALESCE(CAST(l.discount_percentage AS VARCHAR), '0') AS DECIMAL(28, 8)) / 100 AS DECIMAL(28, 8)) AS discount,
  CAST(CAST(l.net_amount AS VARCHAR) AS DECIMAL(28, 8)) AS amount,
  NULLIF(CAST(o.currency AS VARCHAR), '') AS currency
FROM purchase_order_item l
LEFT JOIN purchase_order o ON o.name = l.parent
