-- Tryton party.contact_mechanism → contact. Skype, SIP, IRC and Jabber become `other`.
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  '${source_system}:' || CAST(party AS VARCHAR) AS party_id,
  CASE WHEN type IN ('email', 'phone', 'mobile', 'fax', 'website') THEN type ELSE 'other' END AS kind,
  value,
  name
FROM party_contact_mechanism
