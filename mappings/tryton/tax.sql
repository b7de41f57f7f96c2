-- Tryton account.tax → tax. Tryton taxes are not scoped to sales or purchases (the
-- product category says which applies): scope `both`. A fixed tax's rate is its amount.
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  name,
  CASE type WHEN 'percentage' THEN 'percentage' WHEN 'fixed' THEN 'fixed' ELSE 'other' END AS kind,
  CASE type WHEN 'fixed' THEN amount ELSE rate END AS rate,
  'both' AS scope,
  active
FROM account_tax
