-- Odoo 19 mrp.bom.line -> bom_line: component product_id, product_qty in product_uom_id.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(l.bom_id AS VARCHAR) AS bom_id,
    '${source_system}:' || CAST(l.product_id AS VARCHAR) AS product_id,
    CAST(COALESCE(l.product_qty, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(l.product_uom_id AS VARCHAR) AS uom_id
FROM mrp_bom_line l
