-- Odoo 19 stock.quant -> stock_level. Choice: only quants in internal locations are
-- stock on hand (Odoo also keeps quants, often negative, in supplier, customer,
-- inventory and production locations). The unit is the product's (quants are in the
-- product template's uom_id); lot is the lot or serial number's name.
SELECT
    '${source_system}:' || CAST(q.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(q.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(q.product_id AS VARCHAR) AS product_id,
    '${source_system}:' || CAST(q.location_id AS VARCHAR) AS location_id,
    CAST(COALESCE(q.quantity, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(pt.uom_id AS VARCHAR) AS uom_id,
    lot.name AS lot
FROM stock_quant q
JOIN stock_location loc ON loc.id = q.location_id
JOIN product_product pp ON pp.id = q.product_id
JOIN product_template pt ON pt.id = pp.product_tmpl_id
LEFT JOIN stock_lot lot ON lot.id = q.lot_id
WHERE loc.usage = 'internal'
