-- Odoo 19 mrp.bom -> bom. A BOM is for a product template, optionally one variant:
-- product_id is that variant, else the template's variant when it has exactly one,
-- else NULL. name is the template's name; quantity is product_qty in product_uom_id.
SELECT
    '${source_system}:' || CAST(b.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(b.id AS VARCHAR) AS source_id,
    b.code AS code,
    ferry_text(pt.name, 'en_US') AS name,
    '${source_system}:' || CAST(COALESCE(b.product_id, v.only_id) AS VARCHAR) AS product_id,
    CAST(COALESCE(b.product_qty, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(b.product_uom_id AS VARCHAR) AS uom_id,
    COALESCE(b.active, false) AS active
FROM mrp_bom b
LEFT JOIN product_template pt ON pt.id = b.product_tmpl_id
LEFT JOIN (
    SELECT product_tmpl_id, CASE WHEN COUNT(*) = 1 THEN MIN(id) END AS only_id
    FROM product_product
    GROUP BY product_tmpl_id
) v ON v.product_tmpl_id = b.product_tmpl_id
