-- source-stream: party.address
-- Tryton party.address → address. `kind`: invoice when flagged for invoices, else
-- delivery when flagged for deliveries, else the party's first address is `main`
-- and any other `other`. Tryton keeps the street as one text (lines joined by newline).
SELECT
  '${source_system}:' || CAST(a.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(a.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(a.party AS VARCHAR) AS party_id,
  CASE
    WHEN a.invoice THEN 'invoice'
    WHEN a.delivery THEN 'delivery'
    WHEN a.id = (SELECT min(b.id) FROM party_address b WHERE b.party = a.party) THEN 'main'
    ELSE 'other'
  END AS kind,
  a.party_name AS name,
  a.street,
  a.postal_code,
  a.city,
  CAST(NULL AS VARCHAR) AS region,
  c.code AS country_code,
  a.active
FROM party_address a
LEFT JOIN country_country c ON c.id = a.country
