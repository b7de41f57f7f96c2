-- The same ERP-like schema for MariaDB (uses the SEQUENCE engine's seq_1_to_N tables).
-- Run through gen_mysql.sh, which substitutes the sizes.
SET SESSION sql_log_bin = 0;
DROP TABLE IF EXISTS sale_order_line, sale_order, product, res_partner;
CREATE TABLE res_partner (
  id int PRIMARY KEY, name varchar(128) NOT NULL, email varchar(128), vat varchar(32), is_company tinyint(1),
  credit_limit decimal(16,2), create_date datetime(6), write_date datetime(6), props json) DEFAULT CHARSET=utf8mb4;
CREATE TABLE product (
  id int PRIMARY KEY, default_code varchar(32), name varchar(128) NOT NULL, list_price decimal(16,2),
  standard_price decimal(16,4), weight decimal(12,3), active tinyint(1), write_date datetime(6)) DEFAULT CHARSET=utf8mb4;
CREATE TABLE sale_order (
  id int PRIMARY KEY, name varchar(32) NOT NULL, partner_id int NOT NULL, date_order datetime(6),
  state varchar(16), amount_untaxed decimal(16,2), amount_tax decimal(16,2), amount_total decimal(16,2),
  note text, write_date datetime(6)) DEFAULT CHARSET=utf8mb4;
CREATE TABLE sale_order_line (
  id bigint PRIMARY KEY, order_id int NOT NULL, product_id int NOT NULL, name varchar(128),
  product_uom_qty decimal(16,3), price_unit decimal(16,4), discount decimal(5,2),
  price_subtotal decimal(16,2), create_date datetime(6), write_date datetime(6)) DEFAULT CHARSET=utf8mb4;
INSERT INTO res_partner SELECT seq, CONCAT('Partner ', seq, IF(seq % 7 = 0, ' Société Générale', ' GmbH')),
  IF(seq % 5 = 0, NULL, CONCAT('p', seq, '@example.com')), CONCAT('FR', LPAD(seq * 7919 % 100000000, 11, '0')),
  seq % 3 = 0, (seq % 10000) * 12.5, '2020-01-01' + INTERVAL seq * 37 SECOND, '2024-01-01' + INTERVAL seq * 11 SECOND,
  JSON_OBJECT('lang', IF(seq % 2 = 0, 'fr_FR', 'en_US'), 'tags', JSON_ARRAY(seq % 10, seq % 13))
  FROM seq_1_to_@PARTNERS@;
INSERT INTO product SELECT seq, CONCAT('SKU-', LPAD(seq, 8, '0')), CONCAT('Produit ', seq, ' à façon'),
  (seq % 5000) + 0.99, (seq % 5000) * 0.6133, (seq % 997) * 0.125, seq % 11 <> 0,
  '2024-02-01' + INTERVAL seq * 13 SECOND FROM seq_1_to_@PRODUCTS@;
INSERT INTO sale_order SELECT seq, CONCAT('SO', LPAD(seq, 9, '0')), 1 + seq % @PARTNERS@,
  '2023-01-01 08:00:00' + INTERVAL seq * 61 SECOND, ELT(1 + seq % 5, 'draft','sent','sale','done','cancel'),
  (seq % 100000) * 1.01, (seq % 100000) * 0.202, (seq % 100000) * 1.212,
  IF(seq % 4 = 0, NULL, CONCAT('Deliver before noon; gate ', seq % 9)), '2024-03-01' + INTERVAL seq * 7 SECOND
  FROM seq_1_to_@ORDERS@;
INSERT INTO sale_order_line SELECT seq, 1 + (seq - 1) DIV 10, 1 + seq % @PRODUCTS@, CONCAT('Line ', seq, ' – item'),
  (seq % 50) + 0.5, (seq % 5000) * 0.9731, (seq % 4) * 2.5, ((seq % 50) + 0.5) * ((seq % 5000) * 0.97),
  '2023-01-01 08:00:00' + INTERVAL seq * 6 SECOND, '2024-03-01' + INTERVAL seq SECOND
  FROM seq_1_to_@LINES@;
ANALYZE TABLE res_partner, product, sale_order, sale_order_line;
