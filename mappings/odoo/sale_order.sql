-- Odoo 19 sale.order -> sale_order. customer_id is the commercial entity of partner_id
-- (see party.sql); invoice/delivery addresses are partner_invoice_id /
-- partner_shipping_id (address ids are partner ids, see address.sql). state: draft ->
-- draft, sent -> quotation, sale -> confirmed (a locked order is still `confirmed`:
-- Odoo 19 has no `done` state), cancel -> cancelled. order_date is the UTC date of
-- date_order. Timestamps are cut to the second, as Odoo's API gives them.
SELECT
    '${source_system}:' || CAST(o.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(o.id AS VARCHAR) AS source_id,
    o.name AS number,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS customer_id,
    CAST(o.date_order AS DATE) AS order_date,
    CASE o.state
        WHEN 'draft' THEN 'draft'
        WHEN 'sent' THEN 'quotation'
        WHEN 'sale' THEN 'confirmed'
        WHEN 'done' THEN 'done'
        WHEN 'cancel' THEN 'cancelled'
    END AS state,
    c.name AS currency,
    CAST(COALESCE(o.amount_untaxed, 0) AS DECIMAL(28, 8)) AS untaxed_amount,
    CAST(COALESCE(o.amount_tax, 0) AS DECIMAL(28, 8)) AS tax_amount,
    CAST(COALESCE(o.amount_total, 0) AS DECIMAL(28, 8)) AS total_amount,
    '${source_system}:' || CAST(o.partner_invoice_id AS VARCHAR) AS invoice_address_id,
    '${source_system}:' || CAST(o.partner_shipping_id AS VARCHAR) AS delivery_address_id,
    date_trunc('second', o.create_date) AS created_at
FROM sale_order o
JOIN res_partner p ON p.id = o.partner_id
LEFT JOIN res_currency c ON c.id = o.currency_id
