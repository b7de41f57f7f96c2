-- ERPNext Customer and Supplier → party: one party per Customer and one per Supplier.
-- Both are named by the user (often the company name), so the same name can be a
-- Customer and a Supplier: source_id is `Customer/<name>` or `Supplier/<name>`, and a
-- company that is both is two parties (is_customer on one, is_supplier on the other).
-- `customer_type` / `supplier_type`: Individual → person, Company and Partnership →
-- company. `disabled` = 1 → not active. The phone is `mobile_no` (ERPNext keeps other
-- numbers on Contact, not extracted).
SELECT
  '${source_system}:Customer/' || c.name AS id,
  '${source_system}' AS source_system,
  'Customer/' || c.name AS source_id,
  c.name AS code,
  COALESCE(NULLIF(CAST(c.customer_name AS VARCHAR), ''), c.name) AS name,
  CASE CAST(c.customer_type AS VARCHAR)
    WHEN 'Individual' THEN 'person'
    WHEN 'Company' THEN 'company'
    WHEN 'Partnership' THEN 'company'
  END AS kind,
  true AS is_customer,
  false AS is_supplier,
  NULLIF(CAST(c.tax_id AS VARCHAR), '') AS tax_id,
  NULLIF(CAST(c.email_id AS VARCHAR), '') AS email,
  NULLIF(CAST(c.mobile_no AS VARCHAR), '') AS phone,
  COALESCE(CAST(c.disabled AS VARCHAR), '0') = '0' AS active,
  c.creation AS created_at,
  c.modified AS updated_at
FROM customer c
UNION ALL
SELECT
  '${source_system}:Supplier/' || s.name AS id,
  '${source_system}' AS source_system,
  'Supplier/' || s.name AS source_id,
  s.name AS code,
  COALESCE(NULLIF(CAST(s.supplier_name AS VARCHAR), ''), s.name) AS name,
  CASE CAST(s.supplier_type AS VARCHAR)
    WHEN 'Individual' THEN 'person'
    WHEN 'Company' THEN 'company'
    WHEN 'Partnership' THEN 'company'
  END AS kind,
  false AS is_customer,
  true AS is_supplier,
  NULLIF(CAST(s.tax_id AS VARCHAR), '') AS tax_id,
  NULLIF(CAST(s.email_id AS VARCHAR), '') AS email,
  NULLIF(CAST(s.mobile_no AS VARCHAR), '') AS phone,
  COALESCE(CAST(s.disabled AS VARCHAR), '0') = '0' AS active,
  s.creation AS created_at,
  s.modified AS updated_at
FROM supplier s
