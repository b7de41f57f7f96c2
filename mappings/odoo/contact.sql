-- Odoo 19 res.partner -> contact. Choice: a commercial entity's own e-mail, phone and
-- web site are one row each (source_id `<partner id>/email`, `/phone`, `/website`);
-- every child partner of type `contact` (a person at a company) is a `person` row
-- (source_id = its partner id) whose value is its e-mail, else its phone. Odoo 19 has
-- no separate mobile field.
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) || '/email' AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) || '/email' AS source_id,
    '${source_system}:' || CAST(p.id AS VARCHAR) AS party_id,
    'email' AS kind,
    p.email AS value,
    CAST(NULL AS VARCHAR) AS name
FROM res_partner p
WHERE p.commercial_partner_id = p.id AND p.email IS NOT NULL AND p.email <> ''
UNION ALL
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) || '/phone' AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) || '/phone' AS source_id,
    '${source_system}:' || CAST(p.id AS VARCHAR) AS party_id,
    'phone' AS kind,
    p.phone AS value,
    CAST(NULL AS VARCHAR) AS name
FROM res_partner p
WHERE p.commercial_partner_id = p.id AND p.phone IS NOT NULL AND p.phone <> ''
UNION ALL
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) || '/website' AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) || '/website' AS source_id,
    '${source_system}:' || CAST(p.id AS VARCHAR) AS party_id,
    'website' AS kind,
    p.website AS value,
    CAST(NULL AS VARCHAR) AS name
FROM res_partner p
WHERE p.commercial_partner_id = p.id AND p.website IS NOT NULL AND p.website <> ''
UNION ALL
SELECT
    '${source_system}:' || CAST(p.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(p.id AS VARCHAR) AS source_id,
    '${source_system}:' || CAST(p.commercial_partner_id AS VARCHAR) AS party_id,
    'person' AS kind,
    COALESCE(NULLIF(p.email, ''), NULLIF(p.phone, '')) AS value,
    p.name AS name
FROM res_partner p
WHERE p.commercial_partner_id IS NOT NULL AND p.commercial_partner_id <> p.id
  AND COALESCE(p.type, 'contact') = 'contact'
