-- Odoo 19 uom.uom -> uom. Odoo 19 has no UoM categories any more: units form trees
-- (relative_uom_id); `category` is the name of the tree's root unit (first id of
-- parent_path), and `factor` is Odoo's stored `factor`, the size in root units
-- (relative_factor multiplied up the tree). Odoo 19 has no per-unit rounding or
-- symbol (the name is the symbol, e.g. `kg`): `symbol` and `rounding` are NULL.
SELECT
    '${source_system}:' || CAST(u.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(u.id AS VARCHAR) AS source_id,
    ferry_text(u.name, 'en_US') AS name,
    CAST(NULL AS VARCHAR) AS symbol,
    ferry_text(r.name, 'en_US') AS category,
    CAST(u.factor AS DECIMAL(28, 8)) AS factor,
    CAST(NULL AS DECIMAL(28, 8)) AS rounding,
    COALESCE(u.active, false) AS active
FROM uom_uom u
LEFT JOIN uom_uom r ON CAST(r.id AS VARCHAR) = split_part(u.parent_path, '/', 1)
