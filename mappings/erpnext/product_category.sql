-- ERPNext Item Group → product_category, as named by the items: the Item Group DocType
-- itself is not extracted, so each group an Item names is one category (source_id =
-- its name) and the tree above it (parent_item_group) is unknown: parent_id NULL.
SELECT DISTINCT
  '${source_system}:' || CAST(i.item_group AS VARCHAR) AS id,
  '${source_system}' AS source_system,
  CAST(i.item_group AS VARCHAR) AS source_id,
  CAST(i.item_group AS VARCHAR) AS name,
  CAST(NULL AS VARCHAR) AS parent_id
FROM item i
WHERE NULLIF(CAST(i.item_group AS VARCHAR), '') IS NOT NULL
