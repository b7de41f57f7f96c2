-- Dolibarr orders (customer orders, llx_commande) → sale_order. Status (`statut`):
-- -1 cancelled → cancelled, 0 draft → draft, 1 validated and 2 shipment in progress →
-- confirmed, 3 closed (delivered) → done. Draft numbers are provisional, `(PROVn)`, and
-- kept as Dolibarr shows them. Amounts are `total_ht`, `total_tva`, `total_ttc` in the
-- order's currency (`multicurrency_code`). Dolibarr prints the third party's address on
-- an order unless a billing or shipping contact is linked, which the list API does not
-- say: both address ids are NULL. Dates come as Unix times (UTC).
SELECT
  '${source_system}:' || CAST(o.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(o.id AS VARCHAR) AS source_id,
  CAST(o.ref AS VARCHAR) AS number,
  '${source_system}:' || CAST(o.socid AS VARCHAR) AS customer_id,
  CAST(o."date" AS DATE) AS order_date,
  CASE CAST(o.statut AS VARCHAR)
    WHEN '-1' THEN 'cancelled'
    WHEN '0' THEN 'draft'
    WHEN '1' THEN 'confirmed'
    WHEN '2' THEN 'confirmed'
    WHEN '3' THEN 'done'
  END AS state,
  NULLIF(CAST(o.multicurrency_code AS VARCHAR), '') AS currency,
  o.total_ht AS untaxed_amount,
  o.total_tva AS tax_amount,
  o.total_ttc AS total_amount,
  CAST(NULL AS VARCHAR) AS invoice_address_id,
  CAST(NULL AS VARCHAR) AS delivery_address_id,
  o.date_creation AS created_at
FROM orders o
