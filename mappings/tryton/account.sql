-- Tryton account.account → account. The kind comes from the account type's flags;
-- an account without a type is a `view` (a node of the chart).
SELECT
  '${source_system}:' || CAST(a.id AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(a.id AS VARCHAR) AS source_id,
  a.code,
  a.name,
  CASE
    WHEN a.type IS NULL THEN 'view'
    WHEN t.receivable THEN 'receivable'
    WHEN t.payable THEN 'payable'
    WHEN t.revenue THEN 'revenue'
    WHEN t.expense THEN 'expense'
    WHEN t.assets OR t.stock THEN 'asset'
    WHEN t.debt THEN 'liability'
    ELSE 'other'
  END AS kind,
  '${source_system}:' || CAST(a.parent AS VARCHAR) AS parent_id,
  a.active
FROM account_account a
LEFT JOIN account_account_type t ON t.id = a.type
