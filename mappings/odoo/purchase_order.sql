-- Odoo 19 purchase.order -> purchase_order. supplier_id is the commercial entity of
-- partner_id (see party.sql). state: draft -> draft, sent and `to approve` ->
-- quotation, purchase -> confirmed, done -> done, cancel -> cancelled. A purchase
-- order has no invoice address in Odoo (NULL); the delivery address is the dropship
-- address dest_address_id, NULL when goods go to the company's warehouse.
SELECT
    '${source_system}:' || CAST(o.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(o.id AS VARCHAR) AS source_id,
    o.name AS number,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS supplier_id,
    CAST(o.date_order AS DATE) AS order_date,
    CASE o.state
        WHEN 'draft' THEN 'draft'
        WHEN 'sent' THEN 'quotation'
        WHEN 'to approve' THEN 'quotation'
        WHEN 'purchase' THEN 'confirmed'
        WHEN 'done' THEN 'done'
        WHEN 'cancel' THEN 'cancelled'
    END AS state,
    c.name AS currency,
    CAST(COALESCE(o.amount_untaxed, 0) AS DECIMAL(28, 8)) AS untaxed_amount,
    CAST(COALESCE(o.amount_tax, 0) AS DECIMAL(28, 8)) AS tax_amount,
    CAST(COALESCE(o.amount_total, 0) AS DECIMAL(28, 8)) AS total_amount,
    CAST(NULL AS VARCHAR) AS invoice_address_id,
    '${source_system}:' || CAST(o.dest_address_id AS VARCHAR) AS delivery_address_id,
    date_trunc('second', o.create_date) AS created_at
FROM purchase_order o
JOIN res_partner p ON p.id = o.partner_id
LEFT JOIN res_currency c ON c.id = o.currency_id
