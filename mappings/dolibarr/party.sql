-- Dolibarr thirdparties (llx_societe) → party. One third party is one party.
-- Flags: `client` 1 (customer) or 3 (customer and prospect) → is_customer; 2 (prospect
-- only) and 0 → false. `fournisseur` 1 → is_supplier. `code` is the customer code, else
-- the supplier code. `kind`: third-party type TE_PRIVATE (a private individual) →
-- person, any other type → company, no type → NULL. `status` 1 (open) → active,
-- 0 (closed) → not. The API sends most numbers as text: codes are compared as text.
SELECT
  '${source_system}:' || CAST(t.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(t.id AS VARCHAR) AS source_id,
  COALESCE(NULLIF(CAST(t.code_client AS VARCHAR), ''), NULLIF(CAST(t.code_fournisseur AS VARCHAR), '')) AS code,
  t.name AS name,
  CASE
    WHEN NULLIF(CAST(t.typent_code AS VARCHAR), '') IS NULL THEN CAST(NULL AS VARCHAR)
    WHEN CAST(t.typent_code AS VARCHAR) = 'TE_PRIVATE' THEN 'person'
    ELSE 'company'
  END AS kind,
  COALESCE(CAST(t.client AS VARCHAR) IN ('1', '3'), false) AS is_customer,
  COALESCE(CAST(t.fournisseur AS VARCHAR) = '1', false) AS is_supplier,
  NULLIF(CAST(t.tva_intra AS VARCHAR), '') AS tax_id,
  NULLIF(CAST(t.email AS VARCHAR), '') AS email,
  COALESCE(NULLIF(CAST(t.phone AS VARCHAR), ''), NULLIF(CAST(t.phone_mobile AS VARCHAR), '')) AS phone,
  CAST(t.status AS VARCHAR) = '1' AS active,
  t.date_creation AS created_at,
  COALESCE(t.date_modification, t.date_creation) AS updated_at
FROM thirdparties t
