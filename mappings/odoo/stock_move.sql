-- Odoo 19 stock.move -> stock_move. quantity: the quantity moved (`quantity`) once
-- done, else the demand (product_uom_qty), in product_uom. state: draft -> draft,
-- waiting and confirmed -> waiting, partially_available and assigned -> assigned,
-- done -> done, cancel -> cancelled. planned_date is the UTC date of `date` (Odoo's
-- scheduled date, which becomes the date it was done); effective_date is that date
-- for done moves. unit_price is Odoo's price_unit (valuation, company currency);
-- currency NULL: the company currency is not on the move.
SELECT
    '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(m.id AS VARCHAR) AS source_id,
    m.reference AS reference,
    '${source_system}:' || CAST(m.product_id AS VARCHAR) AS product_id,
    CAST(COALESCE(CASE WHEN m.state = 'done' THEN m.quantity ELSE m.product_uom_qty END, 0)
         AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(m.product_uom AS VARCHAR) AS uom_id,
    '${source_system}:' || CAST(m.location_id AS VARCHAR) AS from_location_id,
    '${source_system}:' || CAST(m.location_dest_id AS VARCHAR) AS to_location_id,
    CASE m.state
        WHEN 'draft' THEN 'draft'
        WHEN 'waiting' THEN 'waiting'
        WHEN 'confirmed' THEN 'waiting'
        WHEN 'partially_available' THEN 'assigned'
        WHEN 'assigned' THEN 'assigned'
        WHEN 'done' THEN 'done'
        WHEN 'cancel' THEN 'cancelled'
    END AS state,
    CAST(m.date AS DATE) AS planned_date,
    CASE WHEN m.state = 'done' THEN CAST(m.date AS DATE) END AS effective_date,
    CAST(COALESCE(m.price_unit, 0) AS DECIMAL(28, 8)) AS unit_price,
    CAST(NULL AS VARCHAR) AS currency
FROM stock_move m
