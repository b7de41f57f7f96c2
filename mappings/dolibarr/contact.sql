-- Dolibarr thirdparties → contact: the e-mail, phone, mobile, fax and web site written on
-- the third party itself, one row each when filled (kinds email, phone, mobile, fax,
-- website). `source_id` is `<third party id>/<field>` (`3/email`), as these values
-- have no id of their own. Contact persons (llx_socpeople, the `contacts` API) are not
-- in the extracted streams.
WITH t AS (
  SELECT CAST(id AS VARCHAR) AS tid,
         NULLIF(CAST(email AS VARCHAR), '') AS email,
         NULLIF(CAST(phone AS VARCHAR), '') AS phone,
         NULLIF(CAST(phone_mobile AS VARCHAR), '') AS mobile,
         NULLIF(CAST(fax AS VARCHAR), '') AS fax,
         NULLIF(CAST(url AS VARCHAR), '') AS url
  FROM thirdparties
), c AS (
  SELECT tid, 'email' AS kind, email AS value FROM t WHERE email IS NOT NULL
  UNION ALL SELECT tid, 'phone', phone FROM t WHERE phone IS NOT NULL
  UNION ALL SELECT tid, 'mobile', mobile FROM t WHERE mobile IS NOT NULL
  UNION ALL SELECT tid, 'fax', fax FROM t WHERE fax IS NOT NULL
  UNION ALL SELECT tid, 'website', url FROM t WHERE url IS NOT NULL
)
SELECT
  '${source_system}:' || tid || '/' || kind AS id,
  '${source_system}' AS source_system,
  tid || '/' || kind AS source_id,
  '${source_system}:' || tid AS party_id,
  kind,
  value,
  CAST(NULL AS VARCHAR) AS name
FROM c
