-- ERPNext Sales Order → sale_order (source_id = its name, e.g. SAL-ORD-2024-00001).
-- State by docstatus, then status: docstatus 0 (Draft) → draft, 2 (Cancelled) →
-- cancelled; submitted (1) orders with status Completed or Closed → done, any other
-- status (To Deliver and Bill, To Bill, To Deliver, On Hold) → confirmed. Amounts:
-- untaxed = `net_total` (after document discounts, = the sum of the items' net_amount),
-- tax = `total_taxes_and_charges`, total = `grand_total`, in the order's `currency`.
-- Address ids name the Address documents (`customer_address`, `shipping_address_name`),
-- which are not extracted. `creation` is naive site time, taken as UTC.
SELECT
  '${source_system}:' || o.name AS id,
  '${source_system}' AS source_system,
  o.name AS source_id,
  o.name AS number,
  '${source_system}:Customer/' || CAST(o.customer AS VARCHAR) AS customer_id,
  CAST(NULLIF(CAST(o.transaction_date AS VARCHAR), '') AS DATE) AS order_date,
  CASE
    WHEN CAST(o.docstatus AS VARCHAR) = '0' THEN 'draft'
    WHEN CAST(o.docstatus AS VARCHAR) = '2' THEN 'cancelled'
    WHEN CAST(o.status AS VARCHAR) IN ('Completed', 'Closed') THEN 'done'
    ELSE 'confirmed'
  END AS state,
  NULLIF(CAST(o.currency AS VARCHAR), '') AS currency,
  CAST(CAST(o.net_total AS VARCHAR) AS DECIMAL(28, 8)) AS untaxed_amount,
  CAST(CAST(o.total_taxes_and_charges AS VARCHAR) AS DECIMAL(28, 8)) AS tax_amount,
  CAST(CAST(o.grand_total AS VARCHAR) AS DECIMAL(28, 8)) AS total_amount,
  CASE WHEN NULLIF(CAST(o.customer_address AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(o.customer_address AS VARCHAR) END AS invoice_address_id,
  CASE WHEN NULLIF(CAST(o.shipping_address_name AS VARCHAR), '') IS NOT NULL
       THEN '${source_system}:' || CAST(o.shipping_address_name AS VARCHAR) END AS delivery_address_id,
  o.creation AS created_at
FROM sales_order o
