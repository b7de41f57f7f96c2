-- Odoo 19 res.partner -> party. Choice: a party is a commercial entity, i.e. a partner
-- that is its own commercial_partner_id (companies, and individuals not under a
-- company). Contact persons and invoice/delivery addresses under a company are not
-- parties: they become `contact` and `address` rows of their commercial entity, and
-- every foreign key to `party` in the other Odoo mappings goes through
-- commercial_partner_id. Archived partners are included (`active` = false).
-- is_customer / is_supplier: customer_rank / supplier_rank > 0 (Odoo raises them when
-- an order or invoice is confirmed for the partner).
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) AS source_id,
    p.ref AS code,
    COALESCE(p.name, p.complete_name, '') AS name,
    CASE WHEN COALESCE(p.is_company, false) THEN 'company' ELSE 'person' END AS kind,
    COALESCE(p.customer_rank, 0) > 0 AS is_customer,
    COALESCE(p.supplier_rank, 0) > 0 AS is_supplier,
    p.vat AS tax_id,
    p.email AS email,
    p.phone AS phone,
    COALESCE(p.active, false) AS active,
    date_trunc('second', p.create_date) AS created_at,
    date_trunc('second', p.write_date) AS updated_at
FROM res_partner p
WHERE p.commercial_partner_id = p.id
