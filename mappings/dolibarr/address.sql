-- Dolibarr thirdparties → address: the third party's own address (street, zip, town,
-- country on llx_societe) as its `main` address, one row per third party that has any
-- of them; `source_id` is the third party's id (the address has no id of its own).
-- Addresses of contacts (llx_socpeople) are not in the extracted streams. Dolibarr keeps
-- the street as one text; the region is only an id here (state_id), so `region` is NULL.
SELECT
  '${source_system}:' || CAST(t.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(t.id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(t.id AS VARCHAR) AS party_id,
  'main' AS kind,
  CAST(NULL AS VARCHAR) AS name,
  NULLIF(CAST(t.address AS VARCHAR), '') AS street,
  NULLIF(CAST(t.zip AS VARCHAR), '') AS postal_code,
  NULLIF(CAST(t.town AS VARCHAR), '') AS city,
  CAST(NULL AS VARCHAR) AS region,
  NULLIF(CAST(t.country_code AS VARCHAR), '') AS country_code,
  CAST(t.status AS VARCHAR) = '1' AS active
FROM thirdparties t
WHERE COALESCE(NULLIF(CAST(t.address AS VARCHAR), ''), NULLIF(CAST(t.zip AS VARCHAR), ''),
               NULLIF(CAST(t.town AS VARCHAR), ''), NULLIF(CAST(t.country_code AS VARCHAR), '')) IS NOT NULL
