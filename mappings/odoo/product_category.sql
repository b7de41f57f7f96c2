-- Odoo 19 product.category -> product_category (name is the category's own name, not
-- the "All / Saleable" complete_name).
SELECT
    '${source_system}:' || CAST(c.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(c.id AS VARCHAR) AS source_id,
    c.name AS name,
    '${source_system}:' || CAST(c.parent_id AS VARCHAR) AS parent_id
FROM product_category c
