-- Odoo 19 account.account -> account. code is code_store, a company-dependent field
-- (one code per company; the database keeps JSON keyed by company id, the API returns
-- the context company's): ferry_text gives the stored code on a dump and the API's
-- value as is. kind from account_type: asset_receivable -> receivable,
-- liability_payable -> payable, income* -> revenue, expense* -> expense, asset_cash ->
-- bank, other asset_* -> asset, other liability_* -> liability, equity* -> equity,
-- off_balance -> other. Odoo 19 has no account hierarchy: parent_id is NULL.
SELECT
    '${source_system}:' || CAST(a.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(a.id AS VARCHAR) AS source_id,
    ferry_text(a.code_store, 'en_US') AS code,
    COALESCE(ferry_text(a.name, 'en_US'), '') AS name,
    CASE
        WHEN a.account_type = 'asset_receivable' THEN 'receivable'
        WHEN a.account_type = 'liability_payable' THEN 'payable'
        WHEN a.account_type LIKE 'income%' THEN 'revenue'
        WHEN a.account_type LIKE 'expense%' THEN 'expense'
        WHEN a.account_type = 'asset_cash' THEN 'bank'
        WHEN a.account_type LIKE 'asset%' THEN 'asset'
        WHEN a.account_type LIKE 'liability%' THEN 'liability'
        WHEN a.account_type LIKE 'equity%' THEN 'equity'
        ELSE 'other'
    END AS kind,
    CAST(NULL AS VARCHAR) AS parent_id,
    COALESCE(a.active, false) AS active
FROM account_account a
