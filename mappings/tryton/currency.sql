-- Tryton currency.currency → currency.
SELECT
  '${source_system}:' || CAST(id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(id AS VARCHAR) AS source_id,
  code, name, symbol,
  digits AS decimals,
  active
FROM currency_currency
