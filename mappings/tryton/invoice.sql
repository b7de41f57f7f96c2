-- source-stream: account.invoice
-- Tryton account.invoice → invoice. Tryton tells invoices from credit notes by sign:
-- a credit note has a negative total. `validated` (checked, not yet posted) counts as
-- `draft`. Amounts keep Tryton's sign.
SELECT
  '${source_system}:' || CAST(i.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(i.id AS VARCHAR) AS source_id,
  i.number,
  CASE
    WHEN i.type = 'out' AND i.total_amount < 0 THEN 'customer_credit_note'
    WHEN i.type = 'out' THEN 'customer_invoice'
    WHEN i.total_amount < 0 THEN 'supplier_credit_note'
    ELSE 'supplier_invoice'
  END AS kind,
  '${source_system}:' || CAST(i.party AS VARCHAR) AS party_id,
  i.invoice_date,
  i.payment_term_date AS due_date,
  CASE i.state WHEN 'validated' THEN 'draft' ELSE i.state END AS state,
  c.code AS currency,
  i.untaxed_amount,
  i.tax_amount,
  i.total_amount,
  i.amount_to_pay AS amount_due,
  i.origins AS origin,
  i.create_date AS created_at
FROM account_invoice i
LEFT JOIN currency_currency c ON c.id = i.currency
