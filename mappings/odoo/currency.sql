-- Odoo 19 res.currency -> currency. Every currency, archived ones too (Odoo ships
-- ~170, a few active): `active` says which are usable.
SELECT
    '${source_system}:' || CAST(c.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(c.id AS VARCHAR) AS source_id,
    c.name AS code,
    c.full_name AS name,
    c.symbol AS symbol,
    CAST(c.decimal_places AS BIGINT) AS decimals,
    COALESCE(c.active, false) AS active
FROM res_currency c
