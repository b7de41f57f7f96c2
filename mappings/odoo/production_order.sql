-- Odoo 19 mrp.production -> production_order. state: draft -> draft, confirmed ->
-- waiting, progress and to_close -> in_progress, done -> done, cancel -> cancelled.
-- planned_date is the UTC date of date_start; done_date that of date_finished once
-- done.
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) AS source_id,
    p.name AS number,
    '${source_system}:' || CAST(p.product_id AS VARCHAR) AS product_id,
    '${source_system}:' || CAST(p.bom_id AS VARCHAR) AS bom_id,
    CAST(COALESCE(p.product_qty, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(p.product_uom_id AS VARCHAR) AS uom_id,
    CASE p.state
        WHEN 'draft' THEN 'draft'
        WHEN 'confirmed' THEN 'waiting'
        WHEN 'progress' THEN 'in_progress'
        WHEN 'to_close' THEN 'in_progress'
        WHEN 'done' THEN 'done'
        WHEN 'cancel' THEN 'cancelled'
    END AS state,
    CAST(p.date_start AS DATE) AS planned_date,
    CASE WHEN p.state = 'done' THEN CAST(p.date_finished AS DATE) END AS done_date
FROM mrp_production p
