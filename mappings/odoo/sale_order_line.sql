-- Odoo 19 sale.order.line -> sale_order_line. Choice: section, subsection and note
-- lines (display_type set) are layout, not order lines: left out. unit_price is
-- price_reduce_taxexcl (price after discount, before tax); discount is Odoo's percent
-- / 100; amount is price_subtotal; quantity is product_uom_qty in product_uom_id.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(l.order_id AS VARCHAR) AS order_id,
    CAST(COALESCE(l.sequence, 0) AS BIGINT) AS sequence,
    '${source_system}:' || CAST(l.product_id AS VARCHAR) AS product_id,
    l.name AS description,
    CAST(COALESCE(l.product_uom_qty, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(l.product_uom_id AS VARCHAR) AS uom_id,
    CAST(COALESCE(l.price_reduce_taxexcl, 0) AS DECIMAL(28, 8)) AS unit_price,
    CAST(CAST(COALESCE(l.discount, 0) AS DECIMAL(28, 8)) / 100 AS DECIMAL(28, 8)) AS discount,
    CAST(COALESCE(l.price_subtotal, 0) AS DECIMAL(28, 8)) AS amount,
    c.name AS currency
FROM sale_order_line l
LEFT JOIN res_currency c ON c.id = l.currency_id
WHERE l.display_type IS NULL
