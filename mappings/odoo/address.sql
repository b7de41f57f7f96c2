-- Odoo 19 res.partner -> address. Choice: one address per partner row that holds
-- address data (street, street2, zip, city, state or country) or whose type is
-- invoice, delivery or other; the address id is the partner's id, so Odoo's
-- partner_invoice_id / partner_shipping_id are address ids as they are. party_id is
-- the commercial entity (see party.sql). kind: the commercial entity's own address is
-- `main`; a child's type invoice/delivery/other is kept; a child contact person's
-- (copied) address is `other`. street = street, newline, street2.
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS party_id,
    CASE
        WHEN p.type IN ('invoice', 'delivery', 'other') THEN p.type
        WHEN p.commercial_partner_id = p.id THEN 'main'
        ELSE 'other'
    END AS kind,
    CASE WHEN p.commercial_partner_id = p.id THEN NULL ELSE p.name END AS name,
    CASE
        WHEN p.street IS NOT NULL AND p.street2 IS NOT NULL THEN p.street || chr(10) || p.street2
        ELSE COALESCE(p.street, p.street2)
    END AS street,
    p.zip AS postal_code,
    p.city AS city,
    s.name AS region,
    c.code AS country_code,
    COALESCE(p.active, false) AS active
FROM res_partner p
LEFT JOIN res_country_state s ON s.id = p.state_id
LEFT JOIN res_country c ON c.id = p.country_id
WHERE p.commercial_partner_id IS NOT NULL
  AND (p.street IS NOT NULL OR p.street2 IS NOT NULL OR p.zip IS NOT NULL OR p.city IS NOT NULL
       OR p.state_id IS NOT NULL OR p.country_id IS NOT NULL
       OR p.type IN ('invoice', 'delivery', 'other'))
