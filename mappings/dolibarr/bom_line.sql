-- Dolibarr boms.lines (llx_bom_bomline) → bom_line: `fk_product` in `qty` per run of
-- the BOM. Units (fk_unit) are not mapped: uom_id NULL.
-- When no BOM has a line, the REST source writes boms.lines with its key column only
-- (`_parent_id`; the other columns are learnt from records). The NATURAL LEFT JOIN
-- with an empty row of the columns read here supplies any that are missing (NULL, so
-- no row) and changes nothing when they are present.
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(_parent_id AS VARCHAR) AS bom_id,
  '${source_system}:' || CAST(fk_product AS VARCHAR) AS product_id,
  CAST(CAST(qty AS VARCHAR) AS DECIMAL(28, 8)) AS quantity,
  CAST(NULL AS VARCHAR) AS uom_id
FROM boms_lines
NATURAL LEFT JOIN (
  SELECT CAST(NULL AS BIGINT) AS id, CAST(NULL AS VARCHAR) AS fk_product, CAST(NULL AS VARCHAR) AS qty
  WHERE false
) defaults
