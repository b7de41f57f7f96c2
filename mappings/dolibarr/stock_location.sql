-- Dolibarr warehouses (llx_entrepot) → stock_location, all `internal`. Dolibarr 20 keeps
-- the warehouse's name in both `ref` and `label`: name = label, code NULL. `statut`:
-- 0 closed → not active; 1 open and 2 open for internal moves only → active.
-- `fk_parent` is the enclosing warehouse.
SELECT
  '${source_system}:' || CAST(w.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(w.id AS VARCHAR) AS source_id,
  CAST(NULL AS VARCHAR) AS code,
  COALESCE(NULLIF(CAST(w.label AS VARCHAR), ''), CAST(w.ref AS VARCHAR)) AS name,
  'internal' AS kind,
  CASE WHEN CAST(w.fk_parent AS VARCHAR) NOT IN ('', '0')
       THEN '${source_system}:' || CAST(w.fk_parent AS VARCHAR) END AS parent_id,
  CAST(w.statut AS VARCHAR) <> '0' AS active
FROM warehouses w
