-- Dolibarr supplierorders (llx_commande_fournisseur) → purchase_order. Status
-- (`statut`, CommandeFournisseur::STATUS_*): 0 draft → draft; 1 validated and
-- 2 approved (not yet sent to the supplier) → quotation; 3 ordered and 4 partly
-- received → confirmed; 5 fully received → done; 6 cancelled, 7 cancelled after
-- ordering and 9 refused → cancelled. The order date is `date_commande` (when it was
-- sent to the supplier), else `date` (its creation, which Dolibarr shows until then).
-- Draft numbers are provisional, `(PROVn)`, kept as Dolibarr shows them. Address ids
-- NULL (see sale_order.sql). Dates come as Unix times (UTC).
SELECT
  '${source_system}:' || CAST(o.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(o.id AS VARCHAR) AS source_id,
  CAST(o.ref AS VARCHAR) AS number,
  '${source_system}:' || CAST(o.socid AS VARCHAR) AS supplier_id,
  COALESCE(CAST(to_timestamp_seconds(CAST(NULLIF(CAST(o.date_commande AS VARCHAR), '') AS BIGINT)) AS DATE),
           CAST(o."date" AS DATE)) AS order_date,
  CASE CAST(o.statut AS VARCHAR)
    WHEN '0' THEN 'draft'
    WHEN '1' THEN 'quotation'
    WHEN '2' THEN 'quotation'
    WHEN '3' THEN 'confirmed'
    WHEN '4' THEN 'confirmed'
    WHEN '5' THEN 'done'
    WHEN '6' THEN 'cancelled'
    WHEN '7' THEN 'cancelled'
    WHEN '9' THEN 'cancelled'
  END AS state,
  NULLIF(CAST(o.multicurrency_code AS VARCHAR), '') AS currency,
  o.total_ht AS untaxed_amount,
  o.total_tva AS tax_amount,
  o.total_ttc AS total_amount,
  CAST(NULL AS VARCHAR) AS invoice_address_id,
  CAST(NULL AS VARCHAR) AS delivery_address_id,
  o.date_creation AS created_at
FROM supplierorders o
