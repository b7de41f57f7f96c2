#!/usr/bin/env python3
"""A small ERPNext (Frappe v15) site answering the REST API v1 as documented.

    server.py [--port N] [--key KEY:SECRET] [--password PW] [--dump]

Python 3 standard library only. Prints the base URL (`http://127.0.0.1:PORT`) on stdout
once it listens, then serves until killed. `--dump` prints the data set as JSON
(`{"DocType": [records...]}`, child rows under their own DocType) and exits, so a test
can compute what a client must read without going through this server.

What it does, after docs.frappe.io (REST API, Listing documents, Filters, fields and
pagination) and the behaviour of frappe.client.get_list in v15:

- Authentication: `Authorization: token <api_key>:<api_secret>`, or the session cookie
  `sid` set by `POST /api/method/login` (`usr`, `pwd`, as form or JSON; the answer is
  `{"message": "Logged In", ...}`; a wrong password is 401 `AuthenticationError`). A
  wrong token is 401 `AuthenticationError`; no credentials at all is the Guest user,
  who may read nothing: 403 `PermissionError`. `GET /api/method/frappe.auth.get_logged_user`
  answers `{"message": "Administrator"}`.
- `GET /api/resource/<DocType>`: `{"data": [...]}`. `fields` is a JSON list (default
  `["name"]`, `["*"]` for every column of the DocType's table: child tables are not
  included in lists); `filters` and `or_filters` are a JSON list of `[field, op,
  value]` or `[doctype, field, op, value]`, or a JSON object `{field: value}` /
  `{field: [op, value]}` (ops `=`, `!=`, `>`, `<`, `>=`, `<=`, `like`, `not like`,
  `in`, `not in`, `is` set/not set); `order_by` (default `modified desc`);
  `limit_start` (0); `limit_page_length` (default 20, 0 = no limit; `limit` is an
  alias). A page past the end is an empty list.
- Child DocTypes (`Sales Order Item`, …) are listed only with `parent=<parent DocType>`
  (v15's rule; without it 403 `PermissionError`); each row carries `parent`,
  `parenttype`, `parentfield` and `idx`.
- `GET /api/resource/<DocType>/<name>`: `{"data": {...}}` with child tables inline;
  an unknown name or DocType is 404 `DoesNotExistError`.
- Errors carry `exc_type`, `exception` and `_server_messages` (a JSON list of JSON
  strings), as Frappe's do.
- Values are what Frappe sends: Currency and Float fields as JSON numbers (Python
  floats), Check and Int as integers, Date as `YYYY-MM-DD`, Datetime as naive
  `YYYY-MM-DD HH:MM:SS.ffffff` in the site's time zone (UTC here).

The data set: the company "Société Générale d'Équipement" (abbreviation SGE, EUR), with
accented names, a customer that is also a supplier (so party ids must not collide), a
cancelled and a draft sales order, a paid invoice, its credit note (`is_return`), a
supplier debit note, stock moves (one cancelled) and the GL entries of the submitted
invoices (the cancelled document's entries marked `is_cancelled`).
"""

import hashlib
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

CHILDREN = {
    "Sales Order": ("items", "Sales Order Item"),
    "Sales Invoice": ("items", "Sales Invoice Item"),
    "Purchase Order": ("items", "Purchase Order Item"),
    "Purchase Invoice": ("items", "Purchase Invoice Item"),
}
CHILD_PARENT = {child: parent for parent, (_, child) in CHILDREN.items()}


def ts(day, minute=0):
    return f"2024-05-{day:02d} 09:{minute:02d}:00.000000"


def std(name, day, minute=0, docstatus=0):
    return {
        "name": name,
        "owner": "Administrator",
        "creation": ts(day, minute),
        "modified": ts(day, minute + 1),
        "modified_by": "Administrator",
        "docstatus": docstatus,
        "idx": 0,
    }


def lines(parent, parenttype, day, rows, extra, docstatus):
    """Child rows: (item_code, item_name, qty, rate, discount %, uom)."""
    out = []
    for i, (code, item_name, qty, price, disc, uom) in enumerate(rows, start=1):
        rate = round(price * (1 - disc / 100), 2)
        amount = round(qty * rate, 2)
        # Frappe names child rows with a random hash; a stable one here.
        row = std(hashlib.sha1(f"{parent}/{i}".encode()).hexdigest()[:10], day, i, docstatus)
        row.update(
            {
                "parent": parent,
                "parenttype": parenttype,
                "parentfield": "items",
                "idx": i,
                "item_code": code,
                "item_name": item_name,
                "description": item_name,
                "qty": float(qty),
                "stock_qty": float(qty),
                "uom": uom,
                "stock_uom": uom,
                "conversion_factor": 1.0,
                "price_list_rate": float(price),
                "discount_percentage": float(disc),
                "rate": rate,
                "amount": amount,
                "net_rate": rate,
                "net_amount": amount,
                "base_net_amount": amount,
            }
        )
        row.update(extra)
        out.append(row)
    return out


def dataset():
    d = {k: [] for k in [
        "Customer", "Supplier", "Item", "Warehouse", "Sales Order", "Sales Order Item",
        "Sales Invoice", "Sales Invoice Item", "Purchase Order", "Purchase Order Item",
        "Purchase Invoice", "Purchase Invoice Item", "Stock Ledger Entry", "GL Entry",
    ]}

    def customer(name, ctype, tax, email, phone, disabled, day):
        r = std(name, day)
        r.update({"naming_series": None, "customer_name": name, "customer_type": ctype,
                  "customer_group": "Commercial", "territory": "France", "tax_id": tax,
                  "email_id": email, "mobile_no": phone, "disabled": disabled,
                  "default_currency": "EUR", "customer_primary_address": None})
        d["Customer"].append(r)

    customer("Société Générale d'Équipement Clients", "Company", "FR12345678901",
             "achats@sge.example", "+33 1 02 03 04 05", 0, 1)
    customer("Müller & Söhne GmbH", "Company", "DE123456789", "einkauf@mueller.example",
             None, 0, 1)
    customer("José Ñúñez", "Individual", None, "jose@nunez.example", "+34 600 000 000", 0, 2)
    customer("Ancien Client Fermé", "Company", None, None, None, 1, 2)

    def supplier(name, stype, tax, email, day):
        r = std(name, day)
        r.update({"supplier_name": name, "supplier_type": stype, "supplier_group": "Raw Material",
                  "country": "France", "tax_id": tax, "email_id": email, "mobile_no": None,
                  "disabled": 0, "default_currency": "EUR"})
        d["Supplier"].append(r)

    supplier("Fournitures Dupré SARL", "Company", "FR98765432109", "ventes@dupre.example", 1)
    supplier("Müller & Söhne GmbH", "Company", "DE123456789", "verkauf@mueller.example", 2)

    def item(code, name, group, uom, stock, sale, buy, price, cost, day):
        r = std(code, day)
        r.update({"item_code": code, "item_name": name, "item_group": group, "stock_uom": uom,
                  "is_stock_item": stock, "is_sales_item": sale, "is_purchase_item": buy,
                  "disabled": 0, "has_variants": 0, "description": name,
                  "standard_rate": price, "valuation_rate": cost})
        d["Item"].append(r)

    item("CHAISE-001", "Chaise empilable en hêtre", "Mobilier", "Nos", 1, 1, 1, 45.0, 21.5, 1)
    item("TABLE-002", "Table pliante 180 cm", "Mobilier", "Nos", 1, 1, 1, 129.9, 64.0, 1)
    item("VIS-M6", "Vis inox M6 (boîte de 100)", "Quincaillerie", "Box", 1, 0, 1, 0.0, 7.25, 1)
    item("SERV-POSE", "Pose et installation sur site", "Services", "Hour", 0, 1, 0, 55.0, 0.0, 2)

    def warehouse(name, wname, parent, group, wtype, day):
        r = std(name, day)
        r.update({"warehouse_name": wname, "parent_warehouse": parent, "is_group": group,
                  "warehouse_type": wtype, "company": "Société Générale d'Équipement",
                  "disabled": 0})
        d["Warehouse"].append(r)

    warehouse("All Warehouses - SGE", "All Warehouses", None, 1, None, 1)
    warehouse("Stores - SGE", "Stores", "All Warehouses - SGE", 0, None, 1)
    warehouse("Entrepôt Lyon - SGE", "Entrepôt Lyon", "All Warehouses - SGE", 0, None, 1)
    warehouse("Goods In Transit - SGE", "Goods In Transit", "All Warehouses - SGE", 0, "Transit", 1)

    def document(doctype, name, party_field, party, date_field, day, minute, docstatus,
                 status, rows, extra=None, item_extra=None):
        child_type = CHILDREN[doctype][1]
        items = lines(name, doctype, day, rows, item_extra or {}, docstatus)
        net = round(sum(r["net_amount"] for r in items), 2)
        tax = round(net * 0.2, 2)
        r = std(name, day, minute, docstatus)
        r.update({party_field: party, f"{party_field}_name": party, date_field: f"2024-05-{day:02d}",
                  "company": "Société Générale d'Équipement", "currency": "EUR",
                  "conversion_rate": 1.0, "status": status,
                  "total_qty": round(sum(x["qty"] for x in items), 2),
                  "total": round(sum(x["amount"] for x in items), 2), "net_total": net,
                  "base_net_total": net, "total_taxes_and_charges": tax,
                  "grand_total": round(net + tax, 2), "rounded_total": round(net + tax, 2)})
        r.update(extra or {})
        d[doctype].append(r)
        d[child_type].extend(items)
        return r

    so = "Sales Order"
    document(so, "SAL-ORD-2024-00001", "customer", "Müller & Söhne GmbH", "transaction_date",
             3, 0, 1, "To Deliver and Bill",
             [("CHAISE-001", "Chaise empilable en hêtre", 12, 45.0, 10, "Nos"),
              ("TABLE-002", "Table pliante 180 cm", 2, 129.9, 0, "Nos")],
             {"delivery_date": "2024-05-20", "customer_address": None,
              "shipping_address_name": None, "per_delivered": 0.0, "per_billed": 0.0},
             {"delivery_date": "2024-05-20", "warehouse": "Stores - SGE"})
    document(so, "SAL-ORD-2024-00002", "customer", "José Ñúñez", "transaction_date",
             4, 0, 2, "Cancelled",
             [("SERV-POSE", "Pose et installation sur site", 3, 55.0, 0, "Hour")],
             {"delivery_date": "2024-05-21", "customer_address": None,
              "shipping_address_name": None, "per_delivered": 0.0, "per_billed": 0.0},
             {"delivery_date": "2024-05-21", "warehouse": None})
    document(so, "SAL-ORD-2024-00003", "customer", "Société Générale d'Équipement Clients",
             "transaction_date", 5, 0, 0, "Draft",
             [("TABLE-002", "Table pliante 180 cm", 1, 129.9, 5, "Nos")],
             {"delivery_date": "2024-05-22", "customer_address": None,
              "shipping_address_name": None, "per_delivered": 0.0, "per_billed": 0.0},
             {"delivery_date": "2024-05-22", "warehouse": "Stores - SGE"})
    document(so, "SAL-ORD-2024-00004", "customer", "Société Générale d'Équipement Clients",
             "transaction_date", 6, 0, 1, "Completed",
             [("CHAISE-001", "Chaise empilable en hêtre", 4, 45.0, 0, "Nos")],
             {"delivery_date": "2024-05-10", "customer_address": None,
              "shipping_address_name": None, "per_delivered": 100.0, "per_billed": 100.0},
             {"delivery_date": "2024-05-10", "warehouse": "Stores - SGE"})

    si = "Sales Invoice"
    sinv = {"income_account": "Ventes - SGE", "warehouse": "Stores - SGE"}
    inv1 = document(si, "ACC-SINV-2024-00001", "customer", "Société Générale d'Équipement Clients",
                    "posting_date", 7, 0, 1, "Paid",
                    [("CHAISE-001", "Chaise empilable en hêtre", 4, 45.0, 0, "Nos")],
                    {"due_date": "2024-06-06", "is_return": 0, "return_against": None,
                     "outstanding_amount": 0.0, "debit_to": "Clients - SGE"},
                    dict(sinv, sales_order="SAL-ORD-2024-00004"))
    cn = document(si, "ACC-SINV-2024-00002", "customer", "Société Générale d'Équipement Clients",
                  "posting_date", 8, 0, 1, "Return",
                  [("CHAISE-001", "Chaise empilable en hêtre", -1, 45.0, 0, "Nos")],
                  {"due_date": "2024-05-08", "is_return": 1,
                   "return_against": "ACC-SINV-2024-00001", "outstanding_amount": 0.0,
                   "debit_to": "Clients - SGE"}, sinv)
    inv3 = document(si, "ACC-SINV-2024-00003", "customer", "Müller & Söhne GmbH", "posting_date",
                    9, 0, 1, "Unpaid",
                    [("TABLE-002", "Table pliante 180 cm", 2, 129.9, 0, "Nos"),
                     ("SERV-POSE", "Pose et installation sur site", 1.5, 55.0, 0, "Hour")],
                    {"due_date": "2024-06-08", "is_return": 0, "return_against": None,
                     "debit_to": "Clients - SGE"}, sinv)
    inv3["outstanding_amount"] = inv3["grand_total"]
    inv4 = document(si, "ACC-SINV-2024-00004", "customer", "Müller & Söhne GmbH", "posting_date",
                    10, 0, 0, "Draft",
                    [("CHAISE-001", "Chaise empilable en hêtre", 1, 45.0, 0, "Nos")],
                    {"due_date": "2024-06-09", "is_return": 0, "return_against": None,
                     "debit_to": "Clients - SGE"}, sinv)
    inv4["outstanding_amount"] = inv4["grand_total"]

    po = "Purchase Order"
    document(po, "PUR-ORD-2024-00001", "supplier", "Fournitures Dupré SARL", "transaction_date",
             2, 0, 1, "To Receive and Bill",
             [("VIS-M6", "Vis inox M6 (boîte de 100)", 20, 7.25, 0, "Box"),
              ("CHAISE-001", "Chaise empilable en hêtre", 10, 21.5, 0, "Nos")],
             {"schedule_date": "2024-05-15", "per_received": 0.0, "per_billed": 0.0,
              "supplier_address": None, "shipping_address": None},
             {"schedule_date": "2024-05-15", "warehouse": "Stores - SGE"})
    document(po, "PUR-ORD-2024-00002", "supplier", "Müller & Söhne GmbH", "transaction_date",
             3, 30, 0, "Draft",
             [("TABLE-002", "Table pliante 180 cm", 5, 64.0, 2.5, "Nos")],
             {"schedule_date": "2024-05-18", "per_received": 0.0, "per_billed": 0.0,
              "supplier_address": None, "shipping_address": None},
             {"schedule_date": "2024-05-18", "warehouse": "Entrepôt Lyon - SGE"})

    pi = "Purchase Invoice"
    pinv = {"expense_account": "Achats - SGE", "warehouse": "Stores - SGE"}
    pinv1 = document(pi, "ACC-PINV-2024-00001", "supplier", "Fournitures Dupré SARL",
                     "posting_date", 11, 0, 1, "Unpaid",
                     [("VIS-M6", "Vis inox M6 (boîte de 100)", 20, 7.25, 0, "Box")],
                     {"due_date": "2024-06-10", "is_return": 0, "return_against": None,
                      "bill_no": "FD-2024-118", "credit_to": "Fournisseurs - SGE"}, pinv)
    pinv1["outstanding_amount"] = pinv1["grand_total"]
    dn = document(pi, "ACC-PINV-2024-00002", "supplier", "Fournitures Dupré SARL",
                  "posting_date", 12, 0, 1, "Return",
                  [("VIS-M6", "Vis inox M6 (boîte de 100)", -2, 7.25, 0, "Box")],
                  {"due_date": "2024-05-12", "is_return": 1,
                   "return_against": "ACC-PINV-2024-00001", "bill_no": "FD-AV-007",
                   "outstanding_amount": 0.0, "credit_to": "Fournisseurs - SGE"}, pinv)

    def sle(n, day, code, wh, qty, rate, vtype, vno, cancelled=0):
        r = std(f"MAT-SLE-2024-{n:05d}", day, n, 1)
        r.update({"item_code": code, "warehouse": wh, "posting_date": f"2024-05-{day:02d}",
                  "posting_time": "10:00:00", "actual_qty": float(qty),
                  "qty_after_transaction": 0.0, "incoming_rate": rate if qty > 0 else 0.0,
                  "valuation_rate": rate, "stock_value_difference": round(qty * rate, 2),
                  "voucher_type": vtype, "voucher_no": vno, "stock_uom": "Nos" if code != "VIS-M6" else "Box",
                  "company": "Société Générale d'Équipement", "is_cancelled": cancelled})
        d["Stock Ledger Entry"].append(r)

    sle(1, 2, "CHAISE-001", "Stores - SGE", 40, 21.5, "Stock Reconciliation", "MAT-RECO-2024-00001")
    sle(2, 2, "TABLE-002", "Stores - SGE", 10, 64.0, "Stock Reconciliation", "MAT-RECO-2024-00001")
    sle(3, 6, "CHAISE-001", "Stores - SGE", -4, 21.5, "Delivery Note", "MAT-DN-2024-00001")
    sle(4, 8, "TABLE-002", "Stores - SGE", -3, 64.0, "Stock Entry", "MAT-STE-2024-00001")
    sle(5, 8, "TABLE-002", "Entrepôt Lyon - SGE", 3, 64.0, "Stock Entry", "MAT-STE-2024-00001")
    sle(6, 9, "VIS-M6", "Stores - SGE", 20, 7.25, "Purchase Receipt", "MAT-PRE-2024-00001", 1)

    n = [0]

    def gl(day, account, debit, credit, vtype, vno, party_type=None, party=None, due=None,
           cancelled=0):
        n[0] += 1
        r = std(f"ACC-GLE-2024-{n[0]:05d}", day, n[0] % 50, 1)
        r.update({"posting_date": f"2024-05-{day:02d}", "account": account,
                  "party_type": party_type, "party": party, "debit": debit, "credit": credit,
                  "account_currency": "EUR", "debit_in_account_currency": debit,
                  "credit_in_account_currency": credit, "voucher_type": vtype,
                  "voucher_no": vno, "remarks": f"{vtype} {vno}", "is_cancelled": cancelled,
                  "due_date": due, "company": "Société Générale d'Équipement",
                  "fiscal_year": "2024", "cost_center": "Principal - SGE"})
        d["GL Entry"].append(r)

    for inv, sign in ((inv1, 1), (cn, -1), (inv3, 1)):
        g, net, tax = inv["grand_total"], inv["net_total"], inv["total_taxes_and_charges"]
        day = int(inv["posting_date"][-2:])
        a = abs
        deb = (lambda x: a(x) if sign > 0 else 0.0)
        cre = (lambda x: 0.0 if sign > 0 else a(x))
        gl(day, "Clients - SGE", deb(g), cre(g), "Sales Invoice", inv["name"], "Customer",
           inv["customer"], inv["due_date"])
        gl(day, "Ventes - SGE", cre(net), deb(net), "Sales Invoice", inv["name"])
        gl(day, "TVA collectée - SGE", cre(tax), deb(tax), "Sales Invoice", inv["name"])
    for inv, sign in ((pinv1, 1), (dn, -1)):
        g, net, tax = inv["grand_total"], inv["net_total"], inv["total_taxes_and_charges"]
        day = int(inv["posting_date"][-2:])
        pos = (lambda x: abs(x) if sign > 0 else 0.0)
        neg = (lambda x: 0.0 if sign > 0 else abs(x))
        gl(day, "Fournisseurs - SGE", neg(g), pos(g), "Purchase Invoice", inv["name"],
           "Supplier", inv["supplier"], inv["due_date"])
        gl(day, "Achats - SGE", pos(net), neg(net), "Purchase Invoice", inv["name"])
        gl(day, "TVA déductible - SGE", pos(tax), neg(tax), "Purchase Invoice", inv["name"])
    # A payment entered then cancelled: its entries and their reversal are marked cancelled.
    gl(13, "Banque - SGE", 100.0, 0.0, "Payment Entry", "ACC-PAY-2024-00001", cancelled=1)
    gl(13, "Clients - SGE", 0.0, 100.0, "Payment Entry", "ACC-PAY-2024-00001", "Customer",
       "Müller & Söhne GmbH", cancelled=1)
    # Frappe lists every column of the table, NULL when unset.
    for rows in d.values():
        keys = []
        for r in rows:
            keys.extend(k for k in r if k not in keys)
        for r in rows:
            for k in keys:
                r.setdefault(k, None)
    return d


def server_messages(text):
    return json.dumps([json.dumps({"message": text})])


def error(exc_type, text):
    return {"exc_type": exc_type, "exception": f"frappe.exceptions.{exc_type}: {text}",
            "_server_messages": server_messages(text)}


def compare(value, op, operand):
    op = op.strip().lower()
    if op == "is":
        return (value not in (None, "")) == (str(operand).lower() == "set")
    if op in ("in", "not in"):
        items = operand if isinstance(operand, list) else [s.strip() for s in str(operand).split(",")]
        hit = value in items
        return hit if op == "in" else not hit
    if op in ("like", "not like"):
        import fnmatch
        pattern = str(operand).replace("%", "*").replace("_", "?")
        hit = value is not None and fnmatch.fnmatchcase(str(value), pattern)
        return hit if op == "like" else not hit
    if value is None:
        return False
    if isinstance(value, (int, float)) and not isinstance(operand, (int, float)):
        try:
            operand = float(operand)
        except (TypeError, ValueError):
            return False
    if op in ("=", "=="):
        return value == operand
    if op == "!=":
        return value != operand
    if op == ">":
        return value > operand
    if op == "<":
        return value < operand
    if op == ">=":
        return value >= operand
    if op == "<=":
        return value <= operand
    raise ValueError(f"Operator {op!r} not supported by this test site")


def conditions(raw, doctype):
    """A filters value as a list of (field, op, value)."""
    if raw in (None, ""):
        return []
    v = json.loads(raw)
    out = []
    if isinstance(v, dict):
        for field, cond in v.items():
            if isinstance(cond, list) and len(cond) == 2:
                out.append((field, cond[0], cond[1]))
            else:
                out.append((field, "=", cond))
        return out
    for c in v:
        if len(c) == 4:
            if c[0] != doctype:
                raise ValueError(f"filters on {c[0]} are not supported by this test site")
            c = c[1:]
        if len(c) == 2:
            c = [c[0], "=", c[1]]
        out.append((c[0], c[1], c[2]))
    return out


def sort_key(order_by):
    terms = []
    for part in order_by.split(","):
        bits = part.strip().replace("`", "").split()
        if not bits:
            continue
        field = bits[0].split(".")[-1]
        desc = len(bits) > 1 and bits[1].lower() == "desc"
        terms.append((field, desc))
    return terms


def ordered(rows, order_by):
    rows = list(rows)
    for field, desc in reversed(sort_key(order_by)):
        rows.sort(key=lambda r: (r.get(field) is None, r.get(field) or ""), reverse=desc)
    return rows


class Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # Clients that fetch pages ahead close them once they know where the end is.
            pass

    def user(self):
        """The logged-in user, None for Guest, or False for bad credentials."""
        st = self.server.state
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, cred = auth.partition(" ")
            if scheme.lower() == "token" and cred == st["key"]:
                return "Administrator"
            return False
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "sid" and v in st["sessions"]:
                return "Administrator"
        return None

    def do_POST(self):
        st = self.server.state
        path = urlsplit(self.path).path
        if path != "/api/method/login":
            return self.answer(405, error("PermissionError", "Not allowed"))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            form = json.loads(body or "{}")
        else:
            form = dict(parse_qsl(body))
        if form.get("usr") != "Administrator" or form.get("pwd") != st["password"]:
            return self.answer(401, {"message": "Invalid Login. Try again.",
                                     "exc_type": "AuthenticationError"})
        sid = secrets.token_hex(16)
        with st["lock"]:
            st["sessions"].add(sid)
        return self.answer(200, {"message": "Logged In", "home_page": "/app",
                                 "full_name": "Administrator"},
                           [("Set-Cookie", f"sid={sid}; Path=/; HttpOnly")])

    def do_GET(self):
        st = self.server.state
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        q = dict(parse_qsl(parts.query, keep_blank_values=True))
        with st["lock"]:
            st["requests"] += 1
        who = self.user()
        if who is False:
            return self.answer(401, error("AuthenticationError", "Invalid API key or secret"))
        if path == "/api/method/frappe.auth.get_logged_user":
            return self.answer(200, {"message": who or "Guest"})
        if not path.startswith("/api/resource/"):
            return self.answer(404, error("DoesNotExistError", "Page not found"))
        rest = path[len("/api/resource/"):].split("/", 1)
        doctype = rest[0]
        if doctype not in st["data"]:
            return self.answer(404, error("DoesNotExistError", f"DocType {doctype} not found"))
        if who is None:
            return self.answer(403, error("PermissionError",
                                          f"User <strong>Guest</strong> does not have doctype access via role permission for document <strong>{doctype}</strong>"))
        rows = st["data"][doctype]
        if len(rest) == 2:
            doc = next((r for r in rows if r["name"] == rest[1]), None)
            if doc is None:
                return self.answer(404, error("DoesNotExistError", f"{doctype} {rest[1]} not found"))
            doc = dict(doc)
            if doctype in CHILDREN:
                field, child = CHILDREN[doctype]
                doc[field] = [r for r in st["data"][child] if r["parent"] == doc["name"]]
            return self.answer(200, {"data": doc})
        if doctype in CHILD_PARENT and q.get("parent") != CHILD_PARENT[doctype]:
            return self.answer(403, error("PermissionError",
                                          f"Please specify a valid parent DocType for {doctype}"))
        try:
            fields = json.loads(q.get("fields") or '["name"]')
            where = conditions(q.get("filters"), doctype)
            any_of = conditions(q.get("or_filters"), doctype)
            start = int(q.get("limit_start") or 0)
            length = int(q.get("limit_page_length") or q.get("limit") or 20)
            selected = [r for r in rows
                        if all(compare(r.get(f), op, v) for f, op, v in where)
                        and (not any_of or any(compare(r.get(f), op, v) for f, op, v in any_of))]
        except (ValueError, TypeError, json.JSONDecodeError) as e:
            return self.answer(417, error("ValidationError", str(e)))
        known = set().union(*(r.keys() for r in rows)) if rows else {"name"}
        for f in fields:
            if f != "*" and f not in known:
                return self.answer(417, error("DataError", f"Field not permitted in query: {f}"))
        selected = ordered(selected, q.get("order_by") or "modified desc")
        if length > 0:
            selected = selected[start:start + length]
        else:
            selected = selected[start:]
        if "*" not in fields:
            selected = [{f: r.get(f) for f in fields} for r in selected]
        return self.answer(200, {"data": selected})


def main():
    args = sys.argv[1:]
    port, key, password, dump = 0, "e2ekey:e2esecret", "admin", False
    i = 0
    while i < len(args):
        if args[i] == "--port":
            port = int(args[i + 1]); i += 2
        elif args[i] == "--key":
            key = args[i + 1]; i += 2
        elif args[i] == "--password":
            password = args[i + 1]; i += 2
        elif args[i] == "--dump":
            dump = True; i += 1
        else:
            sys.exit(f"unknown argument {args[i]!r}\n{__doc__}")
    data = dataset()
    if dump:
        print(json.dumps(data, ensure_ascii=False))
        return
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    httpd.daemon_threads = True
    httpd.state = {"key": key, "password": password, "data": data, "sessions": set(),
                   "requests": 0, "lock": threading.Lock()}
    print(f"http://127.0.0.1:{httpd.server_address[1]}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
