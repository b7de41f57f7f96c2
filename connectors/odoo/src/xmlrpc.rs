//! XML-RPC, the oldest of Odoo's external APIs (`/xmlrpc/2/common`, `/xmlrpc/2/object`),
//! used when JSON-RPC is not served (a proxy that only lets `/xmlrpc/` through, or
//! `protocol = "xmlrpc"` in the job).
//!
//! Values travel as JSON values inside ferry: a call's parameters are encoded from
//! JSON and an answer is decoded to JSON, so the rest of the connector does not care
//! which protocol carried them. Numbers keep the exact text the server sent (serde_json
//! with `arbitrary_precision`), `<nil/>` becomes `null`, `<base64>` stays base64 text
//! (what JSON-RPC sends for binary fields), `<dateTime.iso8601>` its text.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Number, Value};

/// The body of a `methodCall` of `method` with `params`.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    escape_into(method, &mut out);
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        encode_value(p, &mut out);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>");
    out
}

/// The body of a `methodResponse` carrying `value` (for test servers).
pub fn encode_response(value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><params><param>");
    encode_value(value, &mut out);
    out.push_str("</param></params></methodResponse>");
    out
}

/// The body of a `methodResponse` carrying a fault (for test servers).
pub fn encode_fault(code: i64, message: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><fault>");
    encode_value(
        &serde_json::json!({"faultCode": code, "faultString": message}),
        &mut out,
    );
    out.push_str("</fault></methodResponse>");
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

fn encode_value(v: &Value, out: &mut String) {
    out.push_str("<value>");
    match v {
        Value::Null => out.push_str("<nil/>"),
        Value::Bool(b) => {
            out.push_str(if *b {
                "<boolean>1</boolean>"
            } else {
                "<boolean>0</boolean>"
            });
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i32::try_from(i).is_ok() {
                    out.push_str(&format!("<int>{i}</int>"));
                } else {
                    out.push_str(&format!("<i8>{i}</i8>"));
                }
            } else {
                out.push_str(&format!("<double>{n}</double>"));
            }
        }
        Value::String(s) => {
            out.push_str("<string>");
            escape_into(s, out);
            out.push_str("</string>");
        }
        Value::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                encode_value(item, out);
            }
            out.push_str("</data></array>");
        }
        Value::Object(members) => {
            out.push_str("<struct>");
            for (k, item) in members {
                out.push_str("<member><name>");
                escape_into(k, out);
                out.push_str("</name>");
                encode_value(item, out);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// What a `methodResponse` said.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The returned value.
    Value(Value),
    /// A fault: code and message (Odoo puts its traceback's last line in the message).
    Fault(i64, String),
}

/// What a `methodCall` asked (for test servers).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Method name (`execute_kw`, `authenticate`, `version`).
    pub method: String,
    /// Parameters.
    pub params: Vec<Value>,
}

/// A node of the parsed document: tag name, text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn parse_tree(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => stack.push(Node {
                name: e.local_name().as_ref().to_owned(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let node = Node {
                    name: e.local_name().as_ref().to_owned(),
                    ..Node::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("unbalanced XML")?;
                match stack.last_mut() {
                    Some(top) => top.children.push(node),
                    None => return Err("unbalanced XML".into()),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown XML entity &{other};")),
                    },
                    Err(e) => return Err(format!("bad character reference: {e}")),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("the XML document ends inside an element".into());
    }
    Ok(stack.pop().unwrap_or_default())
}

fn child<'a>(node: &'a Node, name: &str) -> Result<&'a Node, String> {
    node.children
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("<{}> without <{name}>", node.name))
}

fn number(text: &str, what: &str) -> Result<Value, String> {
    let t = text.trim();
    t.parse::<Number>()
        .map(Value::Number)
        .map_err(|_| format!("<{what}> holds {t:?}, not a number"))
}

fn decode_value(node: &Node) -> Result<Value, String> {
    // <value>text</value> without a type element is a string.
    let Some(typed) = node.children.first() else {
        return Ok(Value::String(node.text.clone()));
    };
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => number(&typed.text, &typed.name)?,
        "double" => number(&typed.text, "double")?,
        "boolean" => match typed.text.trim() {
            "1" => Value::Bool(true),
            "0" => Value::Bool(false),
            other => return Err(format!("<boolean> holds {other:?}")),
        },
        "string" | "dateTime.iso8601" => Value::String(typed.text.clone()),
        "base64" => Value::String(typed.text.split_whitespace().collect()),
        "nil" => Value::Null,
        "array" => {
            let data = child(typed, "data")?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(decode_value)
                    .collect::<Result<_, _>>()?,
            )
        }
        "struct" => {
            let mut map = Map::new();
            for m in typed.children.iter().filter(|c| c.name == "member") {
                let name = child(m, "name")?.text.clone();
                map.insert(name, decode_value(child(m, "value")?)?);
            }
            Value::Object(map)
        }
        other => return Err(format!("unknown XML-RPC type <{other}>")),
    })
}

/// Decodes a `methodResponse`.
///
/// # Errors
/// The text is not XML-RPC; the message says what and where.
pub fn decode_response(xml: &str) -> Result<Answer, String> {
    let root = parse_tree(xml)?;
    let resp = child(&root, "methodResponse")?;
    if let Ok(fault) = child(resp, "fault") {
        let v = decode_value(child(fault, "value")?)?;
        let code = v.get("faultCode").and_then(Value::as_i64).unwrap_or(0);
        let msg = v
            .get("faultString")
            .and_then(Value::as_str)
            .unwrap_or("fault")
            .to_owned();
        return Ok(Answer::Fault(code, msg));
    }
    let params = child(resp, "params")?;
    let param = child(params, "param")?;
    Ok(Answer::Value(decode_value(child(param, "value")?)?))
}

/// Decodes a `methodCall` (for test servers).
///
/// # Errors
/// The text is not an XML-RPC call.
pub fn decode_call(xml: &str) -> Result<Call, String> {
    let root = parse_tree(xml)?;
    let call = child(&root, "methodCall")?;
    let method = child(call, "methodName")?.text.trim().to_owned();
    let params = match child(call, "params") {
        Ok(p) => p
            .children
            .iter()
            .filter(|c| c.name == "param")
            .map(|p| child(p, "value").and_then(decode_value))
            .collect::<Result<_, _>>()?,
        Err(_) => Vec::new(),
    };
    Ok(Call { method, params })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn calls_round_trip_every_kind_of_value() {
        let params = vec![
            json!("db & <co>"),
            json!(2),
            json!(5_000_000_000i64),
            json!("pass\r\nword ünïcödé 😀"),
            json!("res.partner"),
            json!("search_read"),
            json!([[["write_date", ">=", "2024-01-01 00:00:00"]]]),
            json!({"fields": ["id", "name"], "limit": 500, "context": {"active_test": false, "x": null}}),
            json!(1.25),
        ];
        let xml = encode_call("execute_kw", &params);
        let back = decode_call(&xml).unwrap();
        assert_eq!(back.method, "execute_kw");
        assert_eq!(back.params, params);
    }

    #[test]
    fn odoo_answers_decode_to_json() {
        // As Odoo's dispatcher writes them: untyped strings, False for empty values,
        // doubles, nested structs, base64 with line breaks, and entities.
        let xml = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n\
<value><struct>\n<member>\n<name>id</name>\n<value><int>7</int></value>\n</member>\n\
<member>\n<name>name</name>\n<value><string>Caf&#233; &amp; Co &lt;SA&gt;</string></value>\n</member>\n\
<member>\n<name>email</name>\n<value><boolean>0</boolean></value>\n</member>\n\
<member>\n<name>credit</name>\n<value><double>1234.5600000000002</double></value>\n</member>\n\
<member>\n<name>ref</name>\n<value>untyped text</value>\n</member>\n\
<member>\n<name>image</name>\n<value><base64>\niVBO\nRw0K\n</base64></value>\n</member>\n\
<member>\n<name>parent_id</name>\n<value><array><data>\n<value><int>3</int></value>\n<value><string>Parent</string></value>\n</data></array></value>\n</member>\n\
</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
        let Answer::Value(v) = decode_response(xml).unwrap() else {
            panic!("a value")
        };
        assert_eq!(v[0]["id"], json!(7));
        assert_eq!(v[0]["name"], json!("Café & Co <SA>"));
        assert_eq!(v[0]["email"], json!(false));
        assert_eq!(v[0]["credit"].to_string(), "1234.5600000000002");
        assert_eq!(v[0]["ref"], json!("untyped text"));
        assert_eq!(v[0]["image"], json!("iVBORw0K"));
        assert_eq!(v[0]["parent_id"], json!([3, "Parent"]));
    }

    #[test]
    fn faults_and_garbage_are_told_apart() {
        let fault = encode_fault(1, "Access Denied");
        assert_eq!(
            decode_response(&fault).unwrap(),
            Answer::Fault(1, "Access Denied".into())
        );
        for bad in [
            "",
            "<html>502 Bad Gateway</html>",
            "<methodResponse><params>",
            "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
            "<methodResponse><params><param><value><blob>1</blob></value></param></params></methodResponse>",
        ] {
            assert!(decode_response(bad).is_err(), "{bad}");
        }
    }
}
