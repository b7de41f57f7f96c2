#!/usr/bin/env python3
"""A test server answering Odoo's external JSON-RPC API from a restored Odoo database.

Python 3.11 standard library plus the `psql` client: no Odoo code runs here. It reads
the model catalogue from `ir_model` / `ir_model_fields` and records from each model's
table, and shapes answers the way Odoo 19 does over `/jsonrpc` (see README.md for what
is and is not served).

Usage: server.py --port PORT --db DATABASE [--pg-host H] [--pg-port P] [--pg-user U]
"""

import argparse
import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = {
    "server_version": "19.0",
    "server_version_info": [19, 0, 0, "final", 0, ""],
    "server_serie": "19.0",
    "protocol_version": 1,
}

# Default `_order` of the models whose order matters to a client that does not pass
# one; every other model is ordered by id.
DEFAULT_ORDER = {"res.company": "sequence, name", "res.partner": "complete_name, id desc"}

# Floats whose `digits` name a decimal.precision record in Odoo 19 (the scale is read
# from `decimal_precision` at start). Other floats stored as `numeric` report
# `digits: 0` (Odoo's "numeric without fixed precision"), floats stored as
# `double precision` report no digits, as Odoo does.
NAMED_DIGITS = {
    ("sale.order.line", "product_uom_qty"): "Product Unit",
    ("sale.order.line", "qty_delivered"): "Product Unit",
    ("sale.order.line", "qty_invoiced"): "Product Unit",
    ("sale.order.line", "qty_to_invoice"): "Product Unit",
    ("sale.order.line", "price_unit"): "Product Price",
    ("sale.order.line", "technical_price_unit"): "Product Price",
    ("sale.order.line", "discount"): "Discount",
    ("purchase.order.line", "product_qty"): "Product Unit",
    ("purchase.order.line", "product_uom_qty"): "Product Unit",
    ("purchase.order.line", "qty_received"): "Product Unit",
    ("purchase.order.line", "qty_invoiced"): "Product Unit",
    ("purchase.order.line", "qty_to_invoice"): "Product Unit",
    ("purchase.order.line", "price_unit"): "Product Price",
    ("purchase.order.line", "discount"): "Discount",
    ("account.move.line", "quantity"): "Product Unit",
    ("account.move.line", "price_unit"): "Product Price",
    ("account.move.line", "discount"): "Discount",
    ("product.template", "list_price"): "Product Price",
    ("product.product", "lst_price"): "Product Price",
    ("product.template", "weight"): "Stock Weight",
    ("product.product", "weight"): "Stock Weight",
    ("product.template", "volume"): "Volume",
    ("product.product", "volume"): "Volume",
    ("stock.move", "product_uom_qty"): "Product Unit",
    ("stock.move", "quantity"): "Product Unit",
    ("stock.move", "product_qty"): "Product Unit",
    ("stock.move.line", "quantity"): "Product Unit",
    ("mrp.bom", "product_qty"): "Product Unit",
    ("mrp.bom.line", "product_qty"): "Product Unit",
    ("mrp.production", "product_qty"): "Product Unit",
    ("mrp.production", "qty_producing"): "Product Unit",
}

# Models whose `_table` is not their name with dots made underscores.
TABLES = {
    "ir.actions.actions": "ir_actions",
    "ir.actions.act_window": "ir_act_window",
    "ir.actions.act_window.view": "ir_act_window_view",
    "ir.actions.act_window_close": "ir_actions",
    "ir.actions.act_url": "ir_act_url",
    "ir.actions.server": "ir_act_server",
    "ir.actions.report": "ir_act_report_xml",
    "ir.actions.client": "ir_act_client",
}

IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
ORDER_TERM = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(asc|desc)?\s*(nulls (?:first|last))?\s*$", re.I)


class OdooError(Exception):
    """An error Odoo reports in the JSON-RPC `error` object."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name
        self.message = message


def lit(v):
    """A SQL literal for a JSON scalar."""
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise OdooError("builtins.ValueError", f"Not a number: {v}")
        return str(v)
    s = str(v)
    if "\x00" in s:
        raise OdooError("builtins.ValueError", "NUL character in a value")
    return "'" + s.replace("'", "''") + "'"


class Database:
    """Runs SQL through `psql` (one process per query) and returns the JSON it prints."""

    def __init__(self, args):
        self.cmd = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", args.pg_host,
                    "-p", str(args.pg_port), "-U", args.pg_user, "-d", args.db, "-f", "-"]

    def json(self, sql):
        p = subprocess.run(self.cmd, input=sql.encode(), capture_output=True)
        if p.returncode != 0:
            msg = p.stderr.decode(errors="replace").strip()
            raise OdooError("psycopg2.errors.InternalError", msg)
        out = p.stdout.decode().strip()
        return json.loads(out) if out else None

    def rows(self, sql):
        return self.json(f"SELECT coalesce(json_agg(q), '[]') FROM ({sql}) q") or []


class Catalog:
    """Models, fields and table columns of the database (read once)."""

    def __init__(self, db):
        self.models = {m["model"]: m for m in db.rows(
            "SELECT id, model, transient, coalesce(name->>'en_US', model) AS name FROM ir_model")}
        self.fields = {}
        for f in db.rows(
                "SELECT f.id, f.model, f.name, f.ttype, f.relation, f.relation_field, f.relation_table,"
                " f.column1, f.column2, coalesce(f.store, false) AS store,"
                " coalesce(f.translate, '') <> '' AS translate, coalesce(f.required, false) AS required,"
                " coalesce(f.readonly, false) AS readonly, coalesce(f.company_dependent, false) AS company_dependent,"
                " coalesce(f.field_description->>'en_US', f.name) AS string, f.currency_field, f.related"
                " FROM ir_model_fields f ORDER BY f.model, f.name"):
            self.fields.setdefault(f["model"], {})[f["name"]] = f
        self.selection = {}
        for s in db.rows(
                "SELECT f.model, f.name AS field, s.value, coalesce(s.name->>'en_US', s.value) AS label"
                " FROM ir_model_fields_selection s JOIN ir_model_fields f ON f.id = s.field_id"
                " ORDER BY s.sequence, s.id"):
            self.selection.setdefault((s["model"], s["field"]), []).append([s["value"], s["label"]])
        self.columns = {}
        for c in db.rows(
                "SELECT table_name AS t, column_name AS c, data_type AS d FROM information_schema.columns"
                " WHERE table_schema = 'public'"):
            self.columns.setdefault(c["t"], {})[c["c"]] = c["d"]
        # Company-dependent fallbacks: ir.default values without user or condition.
        self.defaults = {}
        for d in db.rows("SELECT field_id, company_id, json_value FROM ir_default"
                         " WHERE user_id IS NULL AND coalesce(condition, '') = ''"):
            self.defaults[(d["field_id"], d["company_id"])] = d["json_value"]
        self.precision = {p["name"]: p["digits"] for p in db.rows("SELECT name, digits FROM decimal_precision")}
        self.users = {u["login"]: u for u in db.rows(
            "SELECT u.id, u.login, u.password, u.company_id,"
            " coalesce((SELECT array_agg(cid ORDER BY cid) FROM res_company_users_rel r WHERE r.user_id = u.id),"
            " ARRAY[u.company_id]) AS company_ids"
            " FROM res_users u WHERE u.active")}

    def table(self, model):
        t = TABLES.get(model) or model.replace(".", "_")
        return t if t in self.columns else None

    def model_fields(self, model):
        if model not in self.models:
            raise OdooError("odoo.exceptions.UserError", f"Object {model} doesn't exist")
        return self.fields.get(model, {})

    def column(self, model, field):
        """The SQL type of a field's column, or None when it has none."""
        t = self.table(model)
        return self.columns.get(t, {}).get(field) if t else None


def check_password(stored, password):
    """Checks a password against Odoo's passlib pbkdf2_sha512 hash."""
    if not stored or not password:
        return False
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "pbkdf2-sha512":
        return hmac.compare_digest(stored, password)

    def ab64(s):
        return base64.b64decode(s.replace(".", "+") + "=" * (-len(s) % 4))

    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), ab64(parts[3]), int(parts[2]))
    return hmac.compare_digest(digest, ab64(parts[4]))


class Odoo:
    def __init__(self, args):
        self.dbname = args.db
        self.db = Database(args)
        self.cat = Catalog(self.db)
        self.verified = set()
        self.lock = threading.Lock()

    # --- services -------------------------------------------------------------------

    def dispatch(self, service, method, args):
        if service == "common":
            if method == "version":
                return VERSION
            if method in ("authenticate", "login"):
                db, login, password = args[0], args[1], args[2]
                self.check_db(db)
                return self.authenticate(login, password) or False
            if method == "about":
                return "See http://openerp.com"
            raise OdooError("builtins.KeyError", f"Method not found: {method}")
        if service == "db":
            if method == "list":
                return [self.dbname]
            if method == "server_version":
                return VERSION["server_version"]
            raise OdooError("builtins.KeyError", f"Method not found: {method}")
        if service == "object":
            if method not in ("execute_kw", "execute"):
                raise OdooError("builtins.KeyError", f"Method not found: {method}")
            db, uid, password, model, meth = args[:5]
            rest = args[5:]
            self.check_db(db)
            user = self.user_by_uid(uid, password)
            if method == "execute_kw":
                pargs = rest[0] if rest else []
                kwargs = rest[1] if len(rest) > 1 and rest[1] else {}
            else:
                pargs, kwargs = rest, {}
            n = ""
            if meth == "create" and pargs:
                n = f" records={len(pargs[0]) if isinstance(pargs[0], list) else 1}"
            elif meth == "create" and isinstance(kwargs.get("vals_list"), list):
                n = f" records={len(kwargs['vals_list'])}"
            # One line per call: tests count the calls (e.g. batched creates) in the log.
            print(f"call {db} {model}.{meth}{n}", file=sys.stderr, flush=True)
            return self.execute(user, model, meth, list(pargs), dict(kwargs))
        raise OdooError("builtins.Exception", f"No such service: {service}")

    def check_db(self, db):
        if db != self.dbname:
            raise OdooError("psycopg2.OperationalError",
                            f'connection to server failed: FATAL:  database "{db}" does not exist')

    def authenticate(self, login, password):
        u = self.cat.users.get(login)
        if not u:
            return None
        key = (u["id"], password)
        with self.lock:
            if key in self.verified:
                return u["id"]
        if check_password(u["password"], password):
            with self.lock:
                self.verified.add(key)
            return u["id"]
        return None

    def user_by_uid(self, uid, password):
        for u in self.cat.users.values():
            if u["id"] == uid and self.authenticate(u["login"], password) == uid:
                return u
        raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")

    # --- model methods --------------------------------------------------------------

    def execute(self, user, model, method, args, kwargs):
        fields = self.cat.model_fields(model)
        ctx = kwargs.pop("context", None) or {}
        env = self.env(user, ctx)
        if method == "fields_get":
            allfields = args[0] if args else kwargs.get("allfields")
            attributes = args[1] if len(args) > 1 else kwargs.get("attributes")
            return self.fields_get(model, fields, allfields, attributes)
        if method in ("search", "search_read", "search_count", "read"):
            if self.cat.table(model) is None:
                raise OdooError("psycopg2.errors.UndefinedTable",
                                f'relation "{model.replace(".", "_")}" does not exist')
        if method == "search":
            names = ["domain", "offset", "limit", "order"]
            a = self.bind(names, args, kwargs)
            return self.search_ids(model, env, a.get("domain") or [], a.get("offset"), a.get("limit"),
                                   a.get("order"))
        if method == "search_count":
            a = self.bind(["domain", "limit"], args, kwargs)
            return self.count(model, env, a.get("domain") or [], a.get("limit"))
        if method == "search_read":
            a = self.bind(["domain", "fields", "offset", "limit", "order"], args, kwargs)
            return self.search_read(model, env, a.get("domain") or [], a.get("fields"),
                                    a.get("offset"), a.get("limit"), a.get("order"))
        if method == "read":
            a = self.bind(["ids", "fields", "load"], args, kwargs)
            ids = a.get("ids") or []
            if isinstance(ids, int):
                ids = [ids]
            if not ids:
                return []
            recs = self.records(model, env, f"t.id IN ({', '.join(str(int(i)) for i in ids)})",
                                a.get("fields"), None, None, None, rules=True)
            by_id = {r["id"]: r for r in recs}
            missing = [i for i in ids if i not in by_id]
            if missing:
                raise OdooError("odoo.exceptions.MissingError",
                                f"Record does not exist or has been deleted.\n(Record: {model}({missing[0]},), User: {user['id']})")
            return [by_id[i] for i in ids]
        if method == "check_access_rights":
            return True
        if method == "create":
            a = self.bind(["vals_list"], args, kwargs)
            vals = a.get("vals_list")
            single = isinstance(vals, dict)
            w = Writer(self, env)
            ids = [w.create(model, v) for v in ([vals] if single else (vals or []))]
            w.commit()
            return ids[0] if single else ids
        if method == "write":
            a = self.bind(["ids", "vals"], args, kwargs)
            ids = self.existing(user, model, a.get("ids"))
            w = Writer(self, env)
            w.update(model, ids, a.get("vals") or {})
            w.commit()
            return True
        if method == "unlink":
            a = self.bind(["ids"], args, kwargs)
            ids = self.existing(user, model, a.get("ids"))
            table = self.cat.table(model)
            w = Writer(self, env)
            if model == "product.template":
                w.sql.append(f"DELETE FROM product_product WHERE product_tmpl_id IN ({', '.join(map(str, ids))});")
            w.sql.append(f'DELETE FROM "{table}" WHERE id IN ({", ".join(map(str, ids))});')
            w.commit()
            return True
        raise OdooError("builtins.AttributeError",
                        f"The method '{method}' does not exist on the model '{model}'")

    def existing(self, user, model, ids):
        """`ids` as ints; MissingError (as Odoo) when one does not exist."""
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise OdooError("builtins.ValueError", f"Invalid ids: {ids!r}")
        table = self.cat.table(model)
        found = {r["id"] for r in self.db.rows(f'SELECT id FROM "{table}" WHERE id IN ({", ".join(map(str, ids))})')}
        missing = [i for i in ids if i not in found]
        if missing:
            raise OdooError("odoo.exceptions.MissingError",
                            f"Record does not exist or has been deleted.\n(Record: {model}({missing[0]},), User: {user['id']})")
        return ids

    @staticmethod
    def bind(names, args, kwargs):
        a = dict(zip(names, args))
        for k, v in kwargs.items():
            if k in names:
                a[k] = v
        return a

    def env(self, user, ctx):
        companies = ctx.get("allowed_company_ids") or user["company_ids"]
        companies = [int(c) for c in companies]
        return {
            "uid": user["id"],
            "lang": ctx.get("lang") or "en_US",
            "active_test": ctx.get("active_test", True),
            "companies": companies,
            "company": companies[0] if ctx.get("allowed_company_ids") else user["company_id"],
        }

    def fields_get(self, model, fields, allfields, attributes):
        out = {}
        for name, f in fields.items():
            if allfields and name not in allfields:
                continue
            d = {
                "type": f["ttype"],
                "string": f["string"],
                "required": f["required"],
                "readonly": f["readonly"],
                "store": f["store"],
                "name": name,
                "company_dependent": f["company_dependent"],
            }
            if f["relation"]:
                d["relation"] = f["relation"]
            if f["ttype"] in ("char", "text", "html", "selection") or f["translate"]:
                d["translate"] = f["translate"]
            if f["ttype"] == "selection":
                d["selection"] = self.cat.selection.get(self.related_target(model, name), [])
            if f["ttype"] in ("monetary",) and f["currency_field"]:
                d["currency_field"] = f["currency_field"]
            if f["ttype"] == "float":
                named = NAMED_DIGITS.get((model, name))
                if named and named in self.cat.precision:
                    d["digits"] = [16, self.cat.precision[named]]
                elif self.cat.column(model, name) == "numeric":
                    d["digits"] = 0
            if attributes:
                d = {k: v for k, v in d.items() if k in attributes}
            out[name] = d
        return out

    def related_target(self, model, name):
        """The (model, field) a related field's path ends on; itself otherwise."""
        for _ in range(5):
            f = self.cat.fields.get(model, {}).get(name)
            if not f or not f.get("related") or self.cat.selection.get((model, name)):
                break
            path = f["related"].split(".")
            for hop in path[:-1]:
                h = self.cat.fields.get(model, {}).get(hop)
                if not h or not h["relation"]:
                    return model, name
                model = h["relation"]
            name = path[-1]
        return model, name

    # --- SQL ------------------------------------------------------------------------

    def text_expr(self, model, field, alias, env):
        """Expression of a stored scalar field (translations resolved, company values picked)."""
        f = self.cat.fields[model][field]
        col = f'{alias}."{field}"'
        ctype = self.cat.column(model, field)
        if ctype is None:
            return None
        if f["company_dependent"] and ctype == "jsonb":
            # The context company's value, else the ir.default fallback (Odoo 18+).
            company = env["company"]
            fallback = self.cat.defaults.get((f["id"], company), self.cat.defaults.get((f["id"], None)))
            value = json.loads(fallback) if fallback is not None else None
            if value is None or (value is False and f["ttype"] != "boolean"):
                fb = "NULL"
            else:
                fb = lit(json.dumps(value) if isinstance(value, (bool, dict, list)) else str(value))
            v = f"coalesce({col} ->> {lit(str(company))}, {fb})"
            cast = {"many2one": "::integer", "integer": "::integer", "float": "::numeric",
                    "monetary": "::numeric", "boolean": "::boolean"}.get(f["ttype"], "")
            return f"{v}{cast}"
        if f["translate"] and ctype == "jsonb":
            return f"coalesce({col} ->> {lit(env['lang'])}, {col} ->> 'en_US')"
        return col

    def name_expr(self, model, alias, env):
        """SQL for a record's display name (see README.md)."""
        cols = self.cat.columns.get(self.cat.table(model) or "", {})
        lang = lit(env["lang"])
        if model in ("product.product", "product.template"):
            if model == "product.product":
                tmpl = self.text_expr("product.template", "name", "pt", env)
                name = (f"coalesce((SELECT {tmpl} FROM product_template pt"
                        f" WHERE pt.id = {alias}.product_tmpl_id), '')")
                # The values of the attributes with more than one value, as Odoo's
                # _get_combination_name lists them.
                name += (" || coalesce(' (' || (SELECT string_agg(coalesce(pav.name ->> " + lang
                         + ", pav.name ->> 'en_US'), ', ' ORDER BY ptav.attribute_line_id,"
                         " ptav.product_attribute_value_id, ptav.id)"
                         " FROM product_variant_combination pvc"
                         " JOIN product_template_attribute_value ptav ON ptav.id = pvc.product_template_attribute_value_id"
                         " JOIN product_attribute_value pav ON pav.id = ptav.product_attribute_value_id"
                         f" WHERE pvc.product_product_id = {alias}.id AND (SELECT count(*)"
                         " FROM product_template_attribute_value o WHERE o.attribute_line_id = ptav.attribute_line_id"
                         " AND o.ptav_active) > 1) || ')', '')")
            else:
                name = f"coalesce({self.text_expr(model, 'name', alias, env)}, '')"
            return (f"(CASE WHEN coalesce({alias}.default_code, '') <> '' THEN '[' || {alias}.default_code || '] '"
                    f" ELSE '' END || {name})")
        if "complete_name" in cols and self.cat.fields.get(model, {}).get("complete_name", {}).get("store"):
            return f"{alias}.complete_name"
        if "name" in self.cat.fields.get(model, {}):
            e = self.raw_expr(model, "name", alias, env)
            if e is not None:
                return e
        return f"{lit(model + ',')} || {alias}.id"

    def raw_expr(self, model, name, alias, env, depth=0):
        """SQL of a field's value on `alias` (a many2one's id), following the `related`
        path of a non-stored related field through many2one hops; None if not stored."""
        f = self.cat.fields.get(model, {}).get(name)
        if f is None:
            return None
        if name == "id":
            return f"{alias}.id"
        if f["store"]:
            return self.text_expr(model, name, alias, env)
        path = (f.get("related") or "").split(".")
        if len(path) < 2 or depth > 4 or f["ttype"] in ("one2many", "many2many"):
            return None
        return self.path_expr(model, path, alias, env, depth)

    def path_expr(self, model, path, alias, env, depth):
        if len(path) == 1:
            return self.raw_expr(model, path[0], alias, env, depth + 1)
        head = self.cat.fields.get(model, {}).get(path[0])
        if not head or head["ttype"] != "many2one":
            return None
        cotable = self.cat.table(head["relation"])
        hexpr = self.raw_expr(model, path[0], alias, env, depth + 1)
        if not cotable or hexpr is None:
            return None
        a2 = f"{alias}_{depth}"
        inner = self.path_expr(head["relation"], path[1:], a2, env, depth + 1)
        if inner is None:
            return None
        return f'(SELECT {inner} FROM "{cotable}" {a2} WHERE {a2}.id = {hexpr})'

    def value_expr(self, model, name, env):
        """The SELECT expression of one field of `t` (None: no stored value)."""
        f = self.cat.fields[model][name]
        ttype = f["ttype"]
        if name == "id":
            return "t.id"
        if name == "display_name":
            return self.name_expr(model, "t", env)
        if ttype == "many2many":
            rel, c1, c2 = f["relation_table"], f["column1"], f["column2"]
            if rel and c1 and c2 and c1 in self.cat.columns.get(rel, {}) and c2 in self.cat.columns.get(rel, {}):
                return f'ARRAY(SELECT r."{c2}" FROM "{rel}" r WHERE r."{c1}" = t.id ORDER BY 1)'
            return "ARRAY[]::integer[]"
        if ttype == "one2many":
            co, inv = f["relation"], f["relation_field"]
            cotable = self.cat.table(co) if co else None
            if not (cotable and inv and inv in self.cat.columns.get(cotable, {})):
                return "ARRAY[]::integer[]"
            cond = f'c."{inv}" = t.id'
            cocols = self.cat.columns[cotable]
            inv_type = self.cat.fields.get(co, {}).get(inv, {}).get("ttype")
            if inv_type != "many2one":
                if "res_model" in cocols:
                    cond += f" AND c.res_model = {lit(model)}"
                elif "model" in cocols:
                    cond += f" AND c.model = {lit(model)}"
                else:
                    return "ARRAY[]::integer[]"
            return f'ARRAY(SELECT c.id FROM "{cotable}" c WHERE {cond} ORDER BY c.id)'
        e = self.raw_expr(model, name, "t", env)
        if e is None:
            return None
        if ttype == "many2one":
            co = f["relation"]
            cotable = self.cat.table(co)
            if not cotable:
                return f"CASE WHEN {e} IS NULL THEN NULL ELSE json_build_array({e}, {lit(co + ',')} || {e}) END"
            n = self.name_expr(co, "c", env)
            return (f"CASE WHEN {e} IS NULL THEN NULL ELSE json_build_array({e},"
                    f' (SELECT {n} FROM "{cotable}" c WHERE c.id = {e})) END')
        if ttype == "datetime":
            return f"to_char({e}, 'YYYY-MM-DD HH24:MI:SS')"
        if ttype == "date":
            return f"to_char({e}, 'YYYY-MM-DD')"
        if ttype == "binary":
            return None
        return e

    def where(self, model, env, domain, rules=True):
        fields = self.cat.fields.get(model, {})
        sql = DomainCompiler(self, model, env).compile(domain)
        conds = [sql]
        mentions_active = any(isinstance(l, (list, tuple)) and l and l[0] == "active" for l in domain)
        if ("active" in fields and fields["active"]["store"] and env["active_test"] is not False
                and not mentions_active and self.cat.column(model, "active")):
            conds.append("t.active")
        if rules:
            comp = ", ".join(str(c) for c in env["companies"])
            if model == "res.company":
                conds.append(f"t.id IN ({comp})")
            elif ("company_id" in fields and fields["company_id"]["ttype"] == "many2one"
                  and fields["company_id"]["store"] and self.cat.column(model, "company_id")):
                conds.append(f"(t.company_id IS NULL OR t.company_id IN ({comp}))")
        return " AND ".join(f"({c})" for c in conds)

    def order_by(self, model, order, env):
        order = order or DEFAULT_ORDER.get(model) or "id"
        terms = []
        for term in str(order).split(","):
            m = ORDER_TERM.match(term)
            if not m:
                raise OdooError("builtins.ValueError", f"Invalid \"order\" specified ({order}).")
            name, direction, nulls = m.group(1), (m.group(2) or "asc").upper(), m.group(3) or ""
            f = self.cat.fields.get(model, {}).get(name)
            if name != "id" and (not f or not f["store"] or self.cat.column(model, name) is None):
                raise OdooError("builtins.ValueError", f"Invalid \"order\" specified ({order}).")
            expr = "t.id" if name == "id" else self.text_expr(model, name, "t", env)
            terms.append(f"{expr} {direction} {nulls}".strip())
        if not any(t.startswith("t.id ") for t in terms):
            terms.append("t.id ASC")
        return ", ".join(terms)

    @staticmethod
    def limits(offset, limit):
        s = ""
        if limit:
            s += f" LIMIT {int(limit)}"
        if offset:
            s += f" OFFSET {int(offset)}"
        return s

    def search_ids(self, model, env, domain, offset, limit, order):
        table = self.cat.table(model)
        sql = (f'SELECT t.id FROM "{table}" t WHERE {self.where(model, env, domain)}'
               f" ORDER BY {self.order_by(model, order, env)}{self.limits(offset, limit)}")
        return [r["id"] for r in self.db.rows(sql)]

    def count(self, model, env, domain, limit):
        table = self.cat.table(model)
        sql = f'SELECT t.id FROM "{table}" t WHERE {self.where(model, env, domain)}{self.limits(None, limit)}'
        return self.db.json(f"SELECT count(*) FROM ({sql}) q")

    def search_read(self, model, env, domain, fields, offset, limit, order):
        return self.records(model, env, self.where(model, env, domain), fields, offset, limit, order,
                            rules=False)

    def records(self, model, env, where, fields, offset, limit, order, rules):
        mfields = self.cat.fields[model]
        names = list(fields) if fields else [n for n in mfields if n != "id"]
        for n in names:
            if n not in mfields:
                raise OdooError("builtins.ValueError", f"Invalid field {n!r} on {model!r}")
        if rules:
            where = f"({where}) AND {self.where(model, dict(env, active_test=False), [])}"
        exprs = ["t.id AS id"]
        for i, n in enumerate(names):
            e = self.value_expr(model, n, env)
            if e is not None:
                exprs.append(f'{e} AS "{n}"')
        table = self.cat.table(model)
        sql = (f'SELECT {", ".join(exprs)} FROM "{table}" t WHERE {where}'
               f" ORDER BY {self.order_by(model, order, env)}{self.limits(offset, limit)}")
        rows = self.db.rows(sql)
        out = []
        scales = {n: self.cat.precision.get(NAMED_DIGITS.get((model, n))) for n in names}
        for r in rows:
            rec = {"id": r["id"]}
            for n in names:
                if n == "id":
                    continue
                v = self.shape(mfields[n], r.get(n))
                if scales[n] is not None and isinstance(v, float):
                    v = round(v, scales[n])  # Odoo rounds floats to their digits on read
                rec[n] = v
            out.append(rec)
        return out

    @staticmethod
    def shape(f, v):
        """Odoo's read value for a column value: empty values as Odoo gives them."""
        t = f["ttype"]
        if t in ("one2many", "many2many"):
            return v or []
        if t == "boolean":
            return bool(v)
        if t in ("integer", "many2one_reference"):
            return int(v or 0)
        if t in ("float", "monetary"):
            return float(v or 0.0)
        if v is None:
            return False
        return v


class DomainCompiler:
    """Odoo domains (prefix `&`, `|`, `!`; leaves `[field, op, value]`) to SQL on `t`."""

    def __init__(self, odoo, model, env):
        self.odoo, self.model, self.env = odoo, model, env

    def compile(self, domain):
        if not domain:
            return "TRUE"
        if not isinstance(domain, list):
            raise OdooError("builtins.ValueError", f"Invalid domain: {domain!r}")
        stack = []
        for item in reversed(domain):
            if item == "&":
                a, b = stack.pop(), stack.pop()
                stack.append(f"({a} AND {b})")
            elif item == "|":
                a, b = stack.pop(), stack.pop()
                stack.append(f"({a} OR {b})")
            elif item == "!":
                stack.append(f"(NOT {stack.pop()})")
            else:
                stack.append(self.leaf(item))
        return " AND ".join(reversed(stack))

    def leaf(self, leaf):
        if not isinstance(leaf, (list, tuple)) or len(leaf) != 3:
            raise OdooError("builtins.ValueError", f"Invalid leaf {leaf!r}")
        field, op, value = leaf
        if field in (1, 0, True) and op == "=" and value in (1, 0, True, False):
            return "TRUE" if field == value else "FALSE"
        op = str(op).lower()
        fields = self.odoo.cat.fields.get(self.model, {})
        if not isinstance(field, str) or "." in field or field not in fields:
            raise OdooError("builtins.ValueError", f"Invalid field {field!r} in leaf {list(leaf)!r}"
                            if not (isinstance(field, str) and "." in field)
                            else f"The test server does not follow paths in domains: {field!r}")
        f = fields[field]
        if field == "id":
            col = "t.id"
        else:
            col = self.odoo.raw_expr(self.model, field, "t", self.env)
        if col is None:
            raise OdooError("builtins.ValueError",
                            f"The test server cannot search on non-stored field {field!r} of {self.model!r}")
        if f["ttype"] == "many2one" and isinstance(value, str) and op in ("=", "!=", "like", "ilike", "not like", "not ilike", "=like", "=ilike"):
            co = f["relation"]
            cot = self.odoo.cat.table(co)
            name = self.odoo.name_expr(co, "c", self.env)
            inner = self.cmp(name, op.replace("not ", "").replace("!=", "="), value)
            sub = f'{col} IN (SELECT c.id FROM "{cot}" c WHERE {inner})'
            return f"NOT coalesce({sub}, false)" if op.startswith("not") or op == "!=" else sub
        return self.cmp(col, op, value, f["ttype"] == "boolean")

    def cmp(self, col, op, value, boolean=False):
        if op in ("=", "!=", "<>") and value is False or value is None and op in ("=", "!=", "<>"):
            if boolean:
                return f"{col} IS NOT TRUE" if op == "=" else f"{col} IS TRUE"
            return f"{col} IS NULL" if op == "=" else f"{col} IS NOT NULL"
        if op in ("=", "!=", "<>", "<", ">", "<=", ">="):
            sop = "<>" if op == "!=" else op
            if op in ("!=", "<>"):
                return f"({col} IS NULL OR {col} <> {lit(value)})"
            return f"{col} {sop} {lit(value)}"
        if op in ("in", "not in"):
            vals = value if isinstance(value, (list, tuple)) else [value]
            real = [v for v in vals if v is not False and v is not None]
            has_null = len(real) != len(vals)
            parts = []
            if real:
                parts.append(f"{col} IN ({', '.join(lit(v) for v in real)})")
            if has_null:
                parts.append(f"{col} IS NULL")
            pos = " OR ".join(parts) if parts else "FALSE"
            return f"({pos})" if op == "in" else f"(NOT coalesce(({pos}), false))"
        if op in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
            kw = "ILIKE" if "ilike" in op else "LIKE"
            pat = str(value) if op.startswith("=") else "%" + str(value) + "%"
            e = f"{col}::text {kw} {lit(pat)}"
            return f"({col} IS NULL OR NOT ({e}))" if op.startswith("not") else e
        if op == "=?":
            return "TRUE" if value in (None, False) else f"{col} = {lit(value)}"
        raise OdooError("builtins.ValueError", f"Invalid domain operator {op!r}")


# --- writes -------------------------------------------------------------------------
#
# `create`, `write` and `unlink` on the models a migration loads. Each call is one psql
# transaction (BEGIN … COMMIT with ON_ERROR_STOP): a batch is there whole or not at
# all, as in Odoo. Ids are taken from the tables' sequences first (gaps are possible, as
# in Odoo), so children, defaults and totals can be written in the same script. Values
# Odoo's ORM would fill (defaults, sequences, related and computed stored fields) are
# filled for the models below; totals are computed without taxes.

NOW = "(now() AT TIME ZONE 'UTC')"
COMPANY_CURRENCY = "(SELECT currency_id FROM res_company WHERE id = {company})"
ROUND_CUR = "coalesce((SELECT decimal_places FROM res_currency WHERE id = {cur}), 2)"


def seq_name(code):
    """SQL of the next name of the ir.sequence with `code` (prefix and padding as
    Odoo's 'standard' implementation gives them)."""
    return (f"(SELECT coalesce(s.prefix, '') || lpad(nextval(format('ir_sequence_%s', lpad(s.id::text, 3, '0')))::text,"
            f" s.padding, '0') || coalesce(s.suffix, '') FROM ir_sequence s WHERE s.code = {lit(code)}"
            " ORDER BY s.company_id NULLS LAST, s.id LIMIT 1)")


def product_name(product):
    return (f"(SELECT coalesce(pt.name ->> 'en_US', '') FROM product_product pp"
            f" JOIN product_template pt ON pt.id = pp.product_tmpl_id WHERE pp.id = {product})")


INVOICE_TYPES = ("out_invoice", "out_refund", "in_invoice", "in_refund", "out_receipt", "in_receipt")


def defaults(model, vals, company, uid):
    """Column → SQL for what Odoo fills when a value is not given (`vals`: column → SQL
    of the values given, after the parent's inverse field is set)."""
    g = vals.get
    cur = COMPANY_CURRENCY.format(company=company)
    if model == "res.partner":
        parent = g("parent_id", "NULL")
        return {
            "type": "'contact'", "active": "true", "is_company": "false", "autopost_bills": "'ask'",
            "group_rfq": "'default'", "group_on": "'default'", "customer_rank": "0", "supplier_rank": "0",
            "lang": "'en_US'",
            "commercial_partner_id": (f"coalesce((SELECT commercial_partner_id FROM res_partner WHERE id = {parent}),"
                                      " {id})"),
            "complete_name": (
                f"CASE WHEN {parent} IS NULL THEN {g('name', 'NULL')} ELSE"
                f" (SELECT name FROM res_partner WHERE id = {parent}) || ', ' ||"
                f" coalesce({g('name', 'NULL')}, initcap({g('type', lit('contact'))}) || ' Address') END"),
        }
    if model == "product.template":
        return {
            "type": "'consu'", "service_tracking": "'no'", "tracking": "'none'", "active": "true",
            "sale_ok": "true", "purchase_ok": "true", "list_price": "1.0", "is_storable": "false",
            "sale_delay": "0", "invoice_policy": "'order'", "purchase_method": "'receive'",
            "uom_id": "(SELECT res_id FROM ir_model_data WHERE module = 'uom' AND name = 'product_uom_unit')",
        }
    if model == "product.product":
        return {"active": "true", "combination_indices": "''"}
    if model == "sale.order":
        partner = g("partner_id", "NULL")
        return {
            "company_id": str(company), "name": seq_name("sale.order"), "date_order": NOW,
            "state": "'draft'", "picking_policy": "'direct'", "partner_invoice_id": partner,
            "partner_shipping_id": partner, "currency_id": cur, "user_id": str(uid), "locked": "false",
            "invoice_status": "'no'", "currency_rate": "1",
        }
    if model == "sale.order.line":
        order, product = g("order_id", "NULL"), g("product_id", "NULL")
        return {
            "name": f"coalesce({product_name(product)}, '')", "sequence": "10", "customer_lead": "0",
            "product_uom_qty": "1", "discount": "0",
            "price_unit": (f"coalesce((SELECT pt.list_price FROM product_product pp JOIN product_template pt"
                           f" ON pt.id = pp.product_tmpl_id WHERE pp.id = {product}), 0)"),
            "product_uom_id": (f"(SELECT pt.uom_id FROM product_product pp JOIN product_template pt"
                               f" ON pt.id = pp.product_tmpl_id WHERE pp.id = {product})"),
            "company_id": f"(SELECT company_id FROM sale_order WHERE id = {order})",
            "currency_id": f"(SELECT currency_id FROM sale_order WHERE id = {order})",
            "order_partner_id": f"(SELECT partner_id FROM sale_order WHERE id = {order})",
            "state": f"(SELECT state FROM sale_order WHERE id = {order})",
            "invoice_status": "'no'",
        }
    if model == "purchase.order":
        return {
            "company_id": str(company), "name": seq_name("purchase.order"), "date_order": NOW,
            "state": "'draft'", "currency_id": cur, "user_id": str(uid), "locked": "false",
            "invoice_status": "'no'", "priority": "'0'", "currency_rate": "1",
            "picking_type_id": (f"(SELECT t.id FROM stock_picking_type t LEFT JOIN stock_warehouse w ON w.id = t.warehouse_id"
                                f" WHERE t.code = 'incoming' AND coalesce(w.company_id, t.company_id) = {company}"
                                " ORDER BY t.sequence, t.id LIMIT 1)"),
        }
    if model == "purchase.order.line":
        order, product = g("order_id", "NULL"), g("product_id", "NULL")
        return {
            "name": f"coalesce({product_name(product)}, '')", "sequence": "10", "product_qty": "1",
            "price_unit": "0", "discount": "0",
            "product_uom_id": (f"(SELECT pt.uom_id FROM product_product pp JOIN product_template pt"
                               f" ON pt.id = pp.product_tmpl_id WHERE pp.id = {product})"),
            "date_planned": f"(SELECT date_order FROM purchase_order WHERE id = {order})",
            "company_id": f"(SELECT company_id FROM purchase_order WHERE id = {order})",
            "partner_id": f"(SELECT partner_id FROM purchase_order WHERE id = {order})",
        }
    if model == "account.move":
        mtype = g("move_type", "'entry'")
        jtype = (f"CASE WHEN {mtype} LIKE 'out\\_%' THEN 'sale' WHEN {mtype} LIKE 'in\\_%' THEN 'purchase'"
                 " ELSE 'general' END")
        partner = g("partner_id", "NULL")
        return {
            "company_id": str(company), "move_type": "'entry'", "state": "'draft'", "auto_post": "'no'",
            "journal_id": (f"(SELECT id FROM account_journal WHERE type = {jtype} AND company_id = {company}"
                           " ORDER BY sequence, id LIMIT 1)"),
            "currency_id": cur, "date": f"coalesce({g('invoice_date', 'NULL')}, current_date)",
            "payment_state": "'not_paid'", "name": "'/'",
            "commercial_partner_id": f"(SELECT commercial_partner_id FROM res_partner WHERE id = {partner})",
            "invoice_partner_display_name": f"(SELECT complete_name FROM res_partner WHERE id = {partner})",
        }
    if model == "account.move.line":
        move = g("move_id", "NULL")
        return {
            "display_type": f"CASE WHEN (SELECT move_type FROM account_move WHERE id = {move}) = 'entry' THEN NULL ELSE 'product' END",
            "currency_id": f"(SELECT currency_id FROM account_move WHERE id = {move})",
            "company_id": f"(SELECT company_id FROM account_move WHERE id = {move})",
            "company_currency_id": f"(SELECT c.currency_id FROM account_move m JOIN res_company c ON c.id = m.company_id WHERE m.id = {move})",
            "journal_id": f"(SELECT journal_id FROM account_move WHERE id = {move})",
            "date": f"(SELECT date FROM account_move WHERE id = {move})",
            "invoice_date": f"(SELECT invoice_date FROM account_move WHERE id = {move})",
            "partner_id": f"(SELECT commercial_partner_id FROM account_move WHERE id = {move})",
            "parent_state": f"(SELECT state FROM account_move WHERE id = {move})",
            "move_name": f"(SELECT name FROM account_move WHERE id = {move})",
            "account_id": (f"(SELECT j.default_account_id FROM account_move m JOIN account_journal j ON j.id = m.journal_id"
                           f" WHERE m.id = {move})"),
            "quantity": "1", "price_unit": "0", "discount": "0",
            "name": f"{product_name(g('product_id', 'NULL'))}",
        }
    if model == "ir.model.data":
        return {"noupdate": "false"}
    return {}


def recompute(model, ids):
    """SQL updating the stored totals Odoo computes, without taxes, for `ids`."""
    where = f"id IN ({', '.join(str(i) for i in sorted(ids))})"
    line = "round(coalesce({q}, 0) * coalesce(price_unit, 0) * (1 - coalesce(discount, 0) / 100), {r})"
    if model == "sale.order.line":
        sub = line.format(q="product_uom_qty", r=ROUND_CUR.format(cur="currency_id"))
        return [f"UPDATE sale_order_line SET price_subtotal = {sub}, price_total = {sub}, price_tax = 0,"
                " price_reduce_taxexcl = coalesce(price_unit, 0) * (1 - coalesce(discount, 0) / 100),"
                f" price_reduce_taxinc = coalesce(price_unit, 0) * (1 - coalesce(discount, 0) / 100) WHERE {where}"]
    if model == "purchase.order.line":
        cur = "(SELECT currency_id FROM purchase_order o WHERE o.id = order_id)"
        sub = line.format(q="product_qty", r=ROUND_CUR.format(cur=cur))
        return [f"UPDATE purchase_order_line SET price_subtotal = {sub}, price_total = {sub}, price_tax = 0,"
                f" product_uom_qty = product_qty WHERE {where}"]
    if model == "account.move.line":
        sub = line.format(q="quantity", r=ROUND_CUR.format(cur="currency_id"))
        # Income lines of a customer invoice are credits, of a vendor bill debits.
        sign = ("(SELECT CASE WHEN m.move_type IN ('out_invoice', 'in_refund', 'out_receipt') THEN -1 ELSE 1 END"
                " FROM account_move m WHERE m.id = move_id)")
        return [f"UPDATE account_move_line SET price_subtotal = {sub}, price_total = {sub},"
                f" amount_currency = {sign} * {sub}, balance = {sign} * {sub}, amount_residual = 0,"
                f" amount_residual_currency = 0 WHERE {where} AND display_type = 'product'",
                f"UPDATE account_move_line SET debit = greatest(balance, 0), credit = greatest(-balance, 0)"
                f" WHERE {where} AND display_type = 'product'"]
    if model in ("sale.order", "purchase.order"):
        t = model.replace(".", "_")
        s = f"(SELECT coalesce(sum(l.price_subtotal), 0) FROM {t}_line l WHERE l.order_id = {t}.id)"
        extra = ", amount_total_cc = amount_untaxed" if model == "purchase.order" else ""
        return [f"UPDATE {t} SET amount_untaxed = {s}, amount_tax = 0, amount_total = {s} WHERE {where}",
                f"UPDATE {t} SET amount_tax = 0{extra} WHERE {where}"]
    if model == "account.move":
        s = ("(SELECT coalesce(sum(l.price_subtotal), 0) FROM account_move_line l"
             " WHERE l.move_id = account_move.id AND l.display_type = 'product')")
        sign = "CASE WHEN move_type IN ('in_invoice', 'out_refund', 'in_receipt') THEN -1 ELSE 1 END"
        return [f"UPDATE account_move SET amount_untaxed = {s}, amount_tax = 0, amount_total = {s},"
                f" amount_residual = {s} WHERE {where}",
                f"UPDATE account_move SET amount_untaxed_signed = {sign} * amount_untaxed,"
                f" amount_untaxed_in_currency_signed = {sign} * amount_untaxed, amount_tax_signed = 0,"
                f" amount_total_signed = {sign} * amount_total, amount_total_in_currency_signed = {sign} * amount_total,"
                f" amount_residual_signed = {sign} * amount_total WHERE {where}"]
    return []


# Children recomputed before their parents.
RECOMPUTE_ORDER = ["sale.order.line", "purchase.order.line", "account.move.line",
                   "sale.order", "purchase.order", "account.move"]
PARENT_OF = {"sale.order.line": ("sale.order", "order_id"), "purchase.order.line": ("purchase.order", "order_id"),
             "account.move.line": ("account.move", "move_id")}


def mandatory_message(cat, model, field):
    f = cat.fields.get(model, {}).get(field, {})
    m = cat.models.get(model, {})
    return ("The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
            f"Model: {m.get('name', model)} ({model})\nField: {f.get('string', field)} ({field})")


class Writer:
    """The statements of one write call, run in one transaction by `commit`."""

    def __init__(self, odoo, env):
        self.odoo, self.cat, self.env = odoo, odoo.cat, env
        self.sql = []
        self.touched = {}
        self.pool = {}

    def model_of_table(self, table):
        for m in self.cat.models:
            if self.cat.table(m) == table:
                return m
        return table.replace("_", ".")

    def new_id(self, table):
        ids = self.pool.setdefault(table, [])
        if not ids:
            # Ids in advance, 20 at a time: children and defaults can name them.
            ids.extend(self.odoo.db.json(
                f"SELECT json_agg(nextval(pg_get_serial_sequence({lit(table)}, 'id'))) FROM generate_series(1, 20)"))
        return ids.pop(0)

    def table(self, model):
        t = self.cat.table(model)
        if t is None:
            raise OdooError("psycopg2.errors.UndefinedTable", f'relation "{model.replace(".", "_")}" does not exist')
        return t

    def value_sql(self, model, name, f, v):
        """SQL of a value given for a stored field (Odoo's JSON → column)."""
        t = f["ttype"]
        ctype = self.cat.column(model, name)
        if v is False and t != "boolean":
            v = None
        if t == "many2one":
            if isinstance(v, list) and v:
                v = v[0]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise OdooError("builtins.ValueError", f"Wrong value for {model}.{name}: {v!r}")
        elif t == "boolean":
            v = bool(v)
        elif t in ("integer", "float", "monetary"):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, Decimal))):
                raise OdooError("builtins.ValueError", f"Wrong value for {model}.{name}: {v!r}")
            scale = self.cat.precision.get(NAMED_DIGITS.get((model, name)))
            if v is not None and t == "float" and scale is not None:
                # Odoo rounds a float with digits when it stores it.
                v = Decimal(str(v)).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        elif t in ("date", "datetime"):
            if v is not None:
                ok = re.fullmatch(r"\d{4}-\d{2}-\d{2}" + (r"( \d{2}:\d{2}:\d{2}(\.\d+)?)?" if t == "datetime" else ""),
                                  str(v))
                if not ok:
                    raise OdooError("builtins.ValueError",
                                    f"time data {v!r} does not match format '%Y-%m-%d{' %H:%M:%S' if t == 'datetime' else ''}'")
        elif t == "selection":
            allowed = [s[0] for s in self.cat.selection.get(self.odoo.related_target(model, name), [])]
            if v is not None and allowed and v not in allowed:
                raise OdooError("builtins.ValueError", f"Wrong value for {model}.{name}: {v!r}")
        elif v is not None and not isinstance(v, str):
            v = json.dumps(v) if isinstance(v, (dict, list)) else str(v)
        if v is None:
            return "NULL"
        if ctype == "jsonb":
            if f["company_dependent"]:
                return f"jsonb_build_object({lit(str(self.env['company']))}, {lit(v)})"
            if f["translate"]:
                langs = {"en_US", self.env["lang"]}
                return "jsonb_build_object(" + ", ".join(f"{lit(l)}, {lit(v)}" for l in sorted(langs)) + ")"
            return f"{lit(json.dumps(v, default=str))}::jsonb"
        return lit(v)

    def split(self, model, vals):
        """Stored column values (SQL) and x2many commands of `vals`."""
        if not isinstance(vals, dict):
            raise OdooError("builtins.ValueError", f"Invalid values for {model}: {vals!r}")
        fields = self.cat.model_fields(model)
        cols, x2m = {}, {}
        for name, v in vals.items():
            f = fields.get(name)
            if f is None or name == "id":
                raise OdooError("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")
            if f["ttype"] in ("one2many", "many2many"):
                x2m[name] = v
            elif f["store"] and self.cat.column(model, name):
                cols[name] = self.value_sql(model, name, f, v)
            # Non-stored fields without an inverse are ignored, as Odoo does.
        return cols, x2m

    def create(self, model, vals, inverse=None):
        table = self.table(model)
        cols, x2m = self.split(model, vals)
        if inverse:
            cols[inverse[0]] = str(inverse[1])
        rid = self.new_id(table)
        tcols = self.cat.columns[table]
        for k, v in defaults(model, cols, self.env["company"], self.env["uid"]).items():
            if k in tcols and cols.get(k, "NULL") == "NULL" and k not in vals:
                cols[k] = v.replace("{id}", str(rid))
        for k, v in (("create_uid", str(self.env["uid"])), ("write_uid", str(self.env["uid"])),
                     ("create_date", NOW), ("write_date", NOW)):
            if k in tcols:
                cols[k] = v
        if "company_id" in tcols and "company_id" not in cols and model in ("sale.order.line",):
            cols["company_id"] = str(self.env["company"])
        for name, f in self.cat.fields.get(model, {}).items():
            if (f["required"] and f["store"] and f["ttype"] not in ("one2many", "many2many", "boolean")
                    and self.cat.column(model, name) and cols.get(name, "NULL") == "NULL"):
                raise OdooError("odoo.exceptions.ValidationError", mandatory_message(self.cat, model, name))
        cols["id"] = str(rid)
        names = list(cols)
        self.sql.append(f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in names)})'
                        f" VALUES ({', '.join(cols[n] for n in names)});")
        if model == "product.template" and "product_variant_ids" not in x2m:
            # Odoo creates the variant of a template without attributes.
            pcols = {"product_tmpl_id": str(rid), "active": cols.get("active", "true")}
            if "default_code" in cols:
                pcols["default_code"] = cols["default_code"]
            self.create_cols("product.product", pcols)
        self.touch(model, rid)
        for name, commands in x2m.items():
            self.x2many(model, rid, name, commands)
        return rid

    def create_cols(self, model, cols):
        """Inserts a record from column SQL (records Odoo makes itself)."""
        table = self.table(model)
        rid = self.new_id(table)
        tcols = self.cat.columns[table]
        for k, v in defaults(model, cols, self.env["company"], self.env["uid"]).items():
            cols.setdefault(k, v)
        for k, v in (("create_uid", str(self.env["uid"])), ("write_uid", str(self.env["uid"])),
                     ("create_date", NOW), ("write_date", NOW)):
            if k in tcols:
                cols[k] = v
        cols["id"] = str(rid)
        self.sql.append(f'INSERT INTO "{table}" ({", ".join(chr(34) + n + chr(34) for n in cols)})'
                        f" VALUES ({', '.join(cols.values())});")
        return rid

    def touch(self, model, rid):
        self.touched.setdefault(model, set()).add(rid)

    def x2many(self, model, rid, name, commands):
        f = self.cat.fields[model][name]
        co = f["relation"]
        if not isinstance(commands, list):
            raise OdooError("builtins.ValueError", f"Wrong value for {model}.{name}: {commands!r}")
        for c in commands:
            if not isinstance(c, list) or not c:
                raise OdooError("builtins.ValueError", f"Wrong value for {model}.{name}: {c!r}")
            op = c[0]
            if f["ttype"] == "one2many":
                inv = f["relation_field"]
                cotable = self.table(co)
                if op == 0:
                    self.create(co, c[2], inverse=(inv, rid))
                elif op == 1:
                    self.update(co, [int(c[1])], c[2])
                elif op == 2:
                    self.sql.append(f'DELETE FROM "{cotable}" WHERE id = {int(c[1])};')
                elif op == 4:
                    self.sql.append(f'UPDATE "{cotable}" SET "{inv}" = {rid} WHERE id = {int(c[1])};')
                elif op == 6:
                    ids = [int(i) for i in c[2]] or [0]
                    self.sql.append(f'UPDATE "{cotable}" SET "{inv}" = {rid} WHERE id IN ({", ".join(map(str, ids))});')
                else:
                    raise OdooError("builtins.ValueError", f"The test server does not apply command {op} on {model}.{name}")
            else:
                rel, c1, c2 = f["relation_table"], f["column1"], f["column2"]
                if op == 6:
                    self.sql.append(f'DELETE FROM "{rel}" WHERE "{c1}" = {rid};')
                    for i in c[2]:
                        self.sql.append(f'INSERT INTO "{rel}" ("{c1}", "{c2}") VALUES ({rid}, {int(i)}) ON CONFLICT DO NOTHING;')
                elif op == 4:
                    self.sql.append(f'INSERT INTO "{rel}" ("{c1}", "{c2}") VALUES ({rid}, {int(c[1])}) ON CONFLICT DO NOTHING;')
                elif op in (3, 2):
                    self.sql.append(f'DELETE FROM "{rel}" WHERE "{c1}" = {rid} AND "{c2}" = {int(c[1])};')
                elif op == 5:
                    self.sql.append(f'DELETE FROM "{rel}" WHERE "{c1}" = {rid};')
                else:
                    raise OdooError("builtins.ValueError", f"The test server does not apply command {op} on {model}.{name}")
            if op in (0, 1, 2, 4, 6) and co in PARENT_OF:
                self.touch(model, rid)
        self.touch(model, rid)

    def update(self, model, ids, vals):
        table = self.table(model)
        cols, x2m = self.split(model, vals)
        tcols = self.cat.columns[table]
        for name, sql in cols.items():
            f = self.cat.fields[model][name]
            if f["required"] and sql == "NULL":
                raise OdooError("odoo.exceptions.ValidationError", mandatory_message(self.cat, model, name))
        for k, v in (("write_uid", str(self.env["uid"])), ("write_date", NOW)):
            if k in tcols:
                cols[k] = v
        where = ", ".join(str(int(i)) for i in ids)
        sets = ", ".join(f'"{k}" = {v}' for k, v in cols.items())
        self.sql.append(f'UPDATE "{table}" SET {sets} WHERE id IN ({where});')
        for rid in ids:
            self.touch(model, int(rid))
            for name, commands in x2m.items():
                self.x2many(model, int(rid), name, commands)

    def commit(self):
        for model in RECOMPUTE_ORDER:
            ids = self.touched.get(model)
            if ids:
                self.sql.extend(s + ";" for s in recompute(model, ids))
            if model in PARENT_OF and ids:
                parent, inv = PARENT_OF[model]
                t = self.cat.table(model)
                # Parents of lines written directly are recomputed too.
                self.sql.extend(s + ";" for s in recompute_parents(parent, t, inv, ids))
        script = "BEGIN;\n" + "\n".join(self.sql) + "\nCOMMIT;\n"
        try:
            self.odoo.db.json(script)
        except OdooError as e:
            raise self.translate(e) from None

    def translate(self, e):
        """A PostgreSQL error as the exception Odoo converts it to."""
        msg = e.message
        m = re.search(r'null value in column "([^"]+)" of relation "([^"]+)"', msg)
        if m:
            model = self.model_of_table(m.group(2))
            return OdooError("odoo.exceptions.ValidationError", mandatory_message(self.cat, model, m.group(1)))
        m = re.search(r'on table "([^"]+)" violates foreign key constraint "[^"]+"\s*DETAIL:\s*Key \(([^)]+)\)=\(([^)]*)\)'
                      r' is not present in table "([^"]+)"', msg)
        if m:
            model = self.model_of_table(m.group(1))
            comodel = self.model_of_table(m.group(4))
            f = self.cat.fields.get(model, {}).get(m.group(2), {})
            return OdooError("odoo.exceptions.ValidationError",
                             f"The operation cannot be completed: {f.get('string', m.group(2))} ({m.group(2)}) of"
                             f" {model} refers to {comodel} record {m.group(3)}, which does not exist.")
        if "violates foreign key constraint" in msg:
            return OdooError("odoo.exceptions.ValidationError",
                             "The operation cannot be completed: another model requires the record being deleted."
                             " If possible, archive it instead.")
        m = re.search(r'duplicate key value violates unique constraint "([^"]+)"\s*DETAIL:\s*(.*)', msg, re.S)
        if m:
            return OdooError("odoo.exceptions.ValidationError",
                             f"The operation cannot be completed: {m.group(2).strip()} (constraint {m.group(1)})")
        if "invalid input syntax" in msg or "out of range" in msg:
            return OdooError("builtins.ValueError", msg.splitlines()[-1] if msg else msg)
        return e


def recompute_parents(parent, line_table, inv, ids):
    where = ", ".join(str(i) for i in sorted(ids))
    # The parents' own recompute, on the parents of these lines (a subquery for the ids).
    return [s.replace("id IN (0)", f'id IN (SELECT "{inv}" FROM "{line_table}" WHERE id IN ({where}))')
            for s in recompute(parent, [0])]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    odoo = None

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def send(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") in ("/web/health", ""):
            self.send(200, json.dumps({"status": "pass"}))
        else:
            self.not_found()

    def not_found(self):
        self.send(404, "<!doctype html><title>404: Not Found</title><h1>Not Found</h1>", "text/html; charset=utf-8")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.split("?")[0].rstrip("/") != "/jsonrpc":
            self.not_found()
            return
        try:
            # Decimals as sent (never through float), for exact numeric columns.
            req = json.loads(raw, parse_float=Decimal)
        except ValueError:
            self.send(400, "<!doctype html><title>400 Bad Request</title>", "text/html; charset=utf-8")
            return
        rid = req.get("id") if isinstance(req, dict) else None
        try:
            params = req.get("params") or {}
            result = self.odoo.dispatch(params.get("service"), params.get("method"), params.get("args") or [])
            body = {"jsonrpc": "2.0", "id": rid, "result": result}
        except OdooError as e:
            body = error_body(rid, e.name, e.message)
        except (IndexError, TypeError, KeyError, ValueError) as e:
            body = error_body(rid, f"builtins.{type(e).__name__}", str(e))
        self.send(200, json.dumps(body))


def error_body(rid, name, message):
    return {
        "jsonrpc": "2.0",
        "id": rid,
        "error": {
            "code": 200 if name != "odoo.http.SessionExpiredException" else 100,
            "message": "Odoo Server Error",
            "data": {
                "name": name,
                "message": message,
                "arguments": [message],
                "context": {},
                "debug": f"Traceback (most recent call last):\n  (ferry Odoo test server)\n{name}: {message}\n",
            },
        },
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--pg-host", default="127.0.0.1")
    ap.add_argument("--pg-port", type=int, default=5432)
    ap.add_argument("--pg-user", default="postgres")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    Handler.odoo = Odoo(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.verbose = args.verbose
    print(f"listening on http://127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
