-- source-stream: party.party
-- Tryton party.party → party. Tryton has no customer/supplier flag: a party is a
-- customer when a sale or a customer invoice names it, a supplier when a purchase or
-- a supplier invoice does. Nor does it tell companies from persons: `kind` is NULL.
-- The tax id is the party's first identifier (party.identifier, by sequence then id).
WITH customers AS (
  SELECT DISTINCT party FROM (
    SELECT party FROM sale_sale
    UNION ALL SELECT party FROM account_invoice WHERE type = 'out'
  ) c
), suppliers AS (
  SELECT DISTINCT party FROM (
    SELECT party FROM purchase_purchase
    UNION ALL SELECT party FROM account_invoice WHERE type = 'in'
  ) s
), tax_ids AS (
  SELECT party, code FROM (
    SELECT party, code,
           row_number() OVER (PARTITION BY party ORDER BY sequence NULLS LAST, id) AS n
    FROM party_identifier
  ) i WHERE n = 1
)
SELECT
  '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(p.id AS VARCHAR) AS source_id,
  p.code, p.name,
  CAST(NULL AS VARCHAR) AS kind,
  c.party IS NOT NULL AS is_customer,
  s.party IS NOT NULL AS is_supplier,
  t.code AS tax_id,
  p.email, p.phone,
  p.active,
  p.create_date AS created_at,
  COALESCE(p.write_date, p.create_date) AS updated_at
FROM party_party p
LEFT JOIN customers c ON c.party = p.id
LEFT JOIN suppliers s ON s.party = p.id
LEFT JOIN tax_ids t ON t.party = p.id
