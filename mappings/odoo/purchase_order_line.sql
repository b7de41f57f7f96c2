-- Odoo 19 purchase.order.line -> purchase_order_line. Choice: section and note lines
-- (display_type set) are left out. quantity is product_qty in product_uom_id;
-- unit_price is price_unit less the discount (Odoo stores no discounted unit price
-- for purchases); discount is Odoo's percent / 100; amount is price_subtotal; the
-- currency is the order's.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(l.order_id AS VARCHAR) AS order_id,
    CAST(COALESCE(l.sequence, 0) AS BIGINT) AS sequence,
    '${source_system}:' || CAST(l.product_id AS VARCHAR) AS product_id,
    l.name AS description,
    CAST(COALESCE(l.product_qty, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(l.product_uom_id AS VARCHAR) AS uom_id,
    CAST(CAST(COALESCE(l.price_unit, 0) AS DECIMAL(28, 8))
         * (1 - CAST(COALESCE(l.discount, 0) AS DECIMAL(28, 8)) / 100) AS DECIMAL(28, 8)) AS unit_price,
    CAST(CAST(COALESCE(l.discount, 0) AS DECIMAL(28, 8)) / 100 AS DECIMAL(28, 8)) AS discount,
    CAST(COALESCE(l.price_subtotal, 0) AS DECIMAL(28, 8)) AS amount,
    c.name AS currency
FROM purchase_order_line l
JOIN purchase_order o ON o.id = l.order_id
LEFT JOIN res_currency c ON c.id = o.currency_id
WHERE l.display_type IS NULL
