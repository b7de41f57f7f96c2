-- ERPNext Warehouse → stock_location (source_id = its name, e.g. `Stores - SGE`).
-- `is_group` = 1 (a folder of warehouses, holding no stock) → view; warehouse_type
-- Transit → transit; any other → internal. The parent is `parent_warehouse`;
-- `disabled` = 1 → not active. ERPNext has no customer or supplier locations: goods
-- come from and go to outside the warehouses (see stock_move.sql).
SELECT
  '${source_system}:' || w.name AS id,
  '${source_system}' AS source_system,
  w.name AS source_id,
  CAST(NULL AS VARCHAR) AS code,
  COALESCE(NULLIF(CAST(w.warehouse_name AS VARCHAR), ''), w.name) AS name,
  CASE
    WHEN CAST(w.is_group AS VARCHAR) = '1' THEN 'view'
    WHEN CAST(w.warehouse_type AS VARCHAR) = 'Transit' THEN 'transit'
    ELSE 'internal'
  END AS kind,
  CASE WHEN NULLIF(CAST(w.parent_warehouse AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(w.parent_warehouse AS VARCHAR) END AS parent_id,
  COALESCE(CAST(w.disabled AS VARCHAR), '0') = '0' AS active
FROM warehouse w
