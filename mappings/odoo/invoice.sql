-- Odoo 19 account.move with move_type out_invoice / out_refund / in_invoice /
-- in_refund -> invoice (other moves are journal entries only, see journal_entry.sql).
-- party_id is the move's commercial_partner_id. state: draft -> draft, cancel ->
-- cancelled, posted -> paid when payment_state is paid or in_payment, else posted.
-- number is NULL while a draft is still named '/'. amount_due is amount_residual.
SELECT
    '${source_system}:' || CAST(m.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(m.id AS VARCHAR) AS source_id,
    NULLIF(m.name, '/') AS number,
    CASE m.move_type
        WHEN 'out_invoice' THEN 'customer_invoice'
        WHEN 'out_refund' THEN 'customer_credit_note'
        WHEN 'in_invoice' THEN 'supplier_invoice'
        WHEN 'in_refund' THEN 'supplier_credit_note'
    END AS kind,
    '${source_system}:' || CAST(m.commercial_partner_id AS VARCHAR) AS party_id,
    m.invoice_date AS invoice_date,
    m.invoice_date_due AS due_date,
    CASE
        WHEN m.state = 'cancel' THEN 'cancelled'
        WHEN m.state = 'posted' AND m.payment_state IN ('paid', 'in_payment') THEN 'paid'
        WHEN m.state = 'posted' THEN 'posted'
        ELSE 'draft'
    END AS state,
    c.name AS currency,
    CAST(COALESCE(m.amount_untaxed, 0) AS DECIMAL(28, 8)) AS untaxed_amount,
    CAST(COALESCE(m.amount_tax, 0) AS DECIMAL(28, 8)) AS tax_amount,
    CAST(COALESCE(m.amount_total, 0) AS DECIMAL(28, 8)) AS total_amount,
    CAST(COALESCE(m.amount_residual, 0) AS DECIMAL(28, 8)) AS amount_due,
    m.invoice_origin AS origin,
    date_trunc('second', m.create_date) AS created_at
FROM account_move m
LEFT JOIN res_currency c ON c.id = m.currency_id
WHERE m.move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')
