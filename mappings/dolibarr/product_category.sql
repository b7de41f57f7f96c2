-- Dolibarr categories (llx_categorie) → product_category: only categories of type 0
-- (product); the other types (1 supplier, 2 customer, 3 member, 4 contact, …) tag other
-- objects and are left out. `fk_parent` 0 means a root.
SELECT
  '${source_system}:' || CAST(c.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(c.id AS VARCHAR) AS source_id,
  c.label AS name,
  CASE WHEN CAST(c.fk_parent AS VARCHAR) NOT IN ('', '0')
       THEN '${source_system}:' || CAST(c.fk_parent AS VARCHAR) END AS parent_id
FROM categories c
WHERE CAST(c.type AS VARCHAR) IN ('0', 'product')
