-- Odoo 19 account.payment -> payment. party_id is the commercial entity of partner_id.
-- direction is payment_type (inbound / outbound). state: draft -> draft, in_process
-- and paid -> posted, canceled and rejected -> cancelled. invoice_id is NULL: Odoo
-- links payments to invoices through reconciliation, not a stored field. method is
-- the name of the payment method (account.payment.method). number is the payment's
-- name, else its memo.
SELECT
    '${source_system}:' || CAST(pay.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(pay.id AS VARCHAR) AS source_id,
    COALESCE(NULLIF(pay.name, '/'), pay.memo) AS number,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS party_id,
    pay.date AS payment_date,
    CAST(COALESCE(pay.amount, 0) AS DECIMAL(28, 8)) AS amount,
    c.name AS currency,
    CASE pay.payment_type WHEN 'outbound' THEN 'outbound' ELSE 'inbound' END AS direction,
    CAST(NULL AS VARCHAR) AS invoice_id,
    CASE pay.state
        WHEN 'draft' THEN 'draft'
        WHEN 'in_process' THEN 'posted'
        WHEN 'paid' THEN 'posted'
        WHEN 'canceled' THEN 'cancelled'
        WHEN 'rejected' THEN 'cancelled'
    END AS state,
    ferry_text(pm.name, 'en_US') AS method
FROM account_payment pay
LEFT JOIN res_partner p ON p.id = pay.partner_id
LEFT JOIN res_currency c ON c.id = pay.currency_id
LEFT JOIN account_payment_method pm ON pm.id = pay.payment_method_id
