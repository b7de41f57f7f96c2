-- Odoo 19 account.move.line -> invoice_line: the product lines (display_type =
-- 'product') of the moves invoice.sql keeps; tax, payment-term, section and note
-- lines are not invoice lines. unit_price is price_unit less the discount; amount is
-- price_subtotal (before tax, in the invoice currency); account_id is the revenue or
-- expense account.
SELECT
    '${source_system}:' || CAST(l.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(l.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(l.move_id AS VARCHAR) AS invoice_id,
    CAST(COALESCE(l.sequence, 0) AS BIGINT) AS sequence,
    '${source_system}:' || CAST(l.product_id AS VARCHAR) AS product_id,
    l.name AS description,
    CAST(COALESCE(l.quantity, 0) AS DECIMAL(28, 8)) AS quantity,
    '${source_system}:' || CAST(l.product_uom_id AS VARCHAR) AS uom_id,
    CAST(CAST(COALESCE(l.price_unit, 0) AS DECIMAL(28, 8))
         * (1 - CAST(COALESCE(l.discount, 0) AS DECIMAL(28, 8)) / 100) AS DECIMAL(28, 8)) AS unit_price,
    CAST(COALESCE(l.price_subtotal, 0) AS DECIMAL(28, 8)) AS amount,
    '${source_system}:' || CAST(l.account_id AS VARCHAR) AS account_id,
    c.name AS currency
FROM account_move_line l
JOIN account_move m ON m.id = l.move_id
LEFT JOIN res_currency c ON c.id = l.currency_id
WHERE l.display_type = 'product'
  AND m.move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')
