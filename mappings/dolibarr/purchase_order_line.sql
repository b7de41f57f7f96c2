-- Dolibarr supplierorders.lines (llx_commande_fournisseurdet) → purchase_order_line.
-- `subprice` is the unit price before discount, `remise_percent` the discount in
-- percent: unit_price = subprice × (1 − discount), discount = remise_percent / 100.
-- `amount` is the line's `total_ht`. `rang` is the position. Text: the line's own
-- description, else its label, else the product's label. The currency is the order's.
-- Units (fk_unit) are not mapped: uom_id NULL.
SELECT
  '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(l.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(l._parent_id AS VARCHAR) AS order_id,
  CAST(NULLIF(CAST(l.rang AS VARCHAR), '') AS BIGINT) AS sequence,
  CASE WHEN CAST(l.fk_product AS VARCHAR) NOT IN ('', '0')
       THEN '${source_system}:' || CAST(l.fk_product AS VARCHAR) END AS product_id,
  COALESCE(NULLIF(CAST(l.description AS VARCHAR), ''), NULLIF(CAST(l.label AS VARCHAR), ''),
           NULLIF(CAST(l.product_label AS VARCHAR), '')) AS description,
  l.qty AS quantity,
  CAST(NULL AS VARCHAR) AS uom_id,
  CASE WHEN COALESCE(CAST(NULLIF(CAST(l.remise_percent AS VARCHAR), '') AS DECIMAL(28, 8)), 0) = 0
       THEN CAST(l.subprice AS DECIMAL(28, 8))
       ELSE CAST(l.subprice * (100 - CAST(CAST(l.remise_percent AS VARCHAR) AS DECIMAL(28, 8))) / 100 AS DECIMAL(28, 8))
  END AS unit_price,
  CAST(COALESCE(CAST(NULLIF(CAST(l.remise_percent AS VARCHAR), '') AS DECIMAL(28, 8)), 0) / 100 AS DECIMAL(28, 8)) AS discount,
  l.total_ht AS amount,
  NULLIF(CAST(o.multicurrency_code AS VARCHAR), '') AS currency
FROM supplierorders_lines l
LEFT JOIN supplierorders o ON CAST(o.id AS VARCHAR) = CAST(l._parent_id AS VARCHAR)
