-- Odoo 19 account.tax -> tax. kind: amount_type percent -> percentage (rate = amount /
-- 100), fixed -> fixed (rate = amount per unit), group / division -> other (rate
-- NULL). scope: type_tax_use sale / purchase / none as they are.
SELECT
    '${source_system}:' || CAST(t.id AS VARCHAR) AS id,
    '${source_system}' AS source_system,
    CAST(t.id AS VARCHAR) AS source_id,
    COALESCE(ferry_text(t.name, 'en_US'), '') AS name,
    CASE t.amount_type WHEN 'percent' THEN 'percentage' WHEN 'fixed' THEN 'fixed' ELSE 'other' END AS kind,
    CASE t.amount_type
        WHEN 'percent' THEN CAST(CAST(t.amount AS DECIMAL(28, 8)) / 100 AS DECIMAL(28, 8))
        WHEN 'fixed' THEN CAST(t.amount AS DECIMAL(28, 8))
    END AS rate,
    CASE WHEN t.type_tax_use IN ('sale', 'purchase', 'none') THEN t.type_tax_use END AS scope,
    COALESCE(t.active, false) AS active
FROM account_tax t
