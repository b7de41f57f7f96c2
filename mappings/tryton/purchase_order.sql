-- source-stream: purchase.purchase
-- Tryton purchase.purchase → purchase_order. States: processing (confirmed, being
-- fulfilled) becomes `confirmed`; the others keep their name.
SELECT
  '${source_system}:' || CAST(s.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(s.id AS VARCHAR) AS source_id,
  s.number,
  '${source_system}:' || CAST(s.party AS VARCHAR) AS supplier_id,
  s.purchase_date AS order_date,
  CASE s.state WHEN 'processing' THEN 'confirmed' ELSE s.state END AS state,
  c.code AS currency,
  s.untaxed_amount,
  s.tax_amount,
  s.total_amount,
  '${source_system}:' || CAST(s.invoice_address AS VARCHAR) AS invoice_address_id,
  CAST(NULL AS VARCHAR) AS delivery_address_id,
  s.create_date AS created_at
FROM purchase_purchase s
LEFT JOIN currency_currency c ON c.id = s.currency
