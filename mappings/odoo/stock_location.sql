-- Odoo 19 stock.location -> stock_location. name is the location's own name (not the
-- "WH/Stock" complete_name); code is its barcode; kind is `usage` (internal,
-- supplier, customer, inventory, production, transit, view). parent_id is location_id.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    l.barcode AS code,
    COALESCE(l.name, '') AS name,
    CASE WHEN l.usage IN ('internal', 'supplier', 'customer', 'inventory', 'production', 'transit', 'view')
         THEN l.usage ELSE 'other' END AS kind,
    '${source_system}:' || CAST(l.location_id AS VARCHAR) AS parent_id,
    COALESCE(l.active, false) AS active
FROM stock_location l
