-- Dolibarr boms (llx_bom_bom) → bom. `status`: 0 draft and 1 validated → active,
-- 9 cancelled → not active. `qty` is what one run yields of `fk_product`. Units
-- (fk_unit) are not mapped: uom_id NULL.
SELECT
  '${source_system}:' || CAST(b.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(b.id AS VARCHAR) AS source_id,
  NULLIF(CAST(b.ref AS VARCHAR), '') AS code,
  NULLIF(CAST(b.label AS VARCHAR), '') AS name,
  CASE WHEN CAST(b.fk_product AS VARCHAR) NOT IN ('', '0')
       THEN '${source_system}:' || CAST(b.fk_product AS VARCHAR) END AS product_id,
  b.qty AS quantity,
  CAST(NULL AS VARCHAR) AS uom_id,
  CAST(b.status AS VARCHAR) <> '9' AS active
FROM boms b
