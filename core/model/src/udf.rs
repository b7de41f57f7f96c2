//! SQL functions mappings may use besides DataFusion's own.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, cast::as_string_array};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// Registers the functions on `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ferry_text());
}

/// `ferry_text(value, lang)`: the text of a translated field. Odoo keeps translatable
/// fields as JSON objects (`{"en_US": "Desk", "fr_FR": "Bureau"}`) in its database
/// and hence in its dumps, while its API answers with the text of one language. For a
/// JSON object, the value for `lang`, else `en_US`, else the first text value; for
/// anything else, the value itself. So one mapping serves both extractions.
fn ferry_text() -> ScalarUDF {
    create_udf(
        "ferry_text",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let values = as_string_array(&arrays[0])?;
            let langs = as_string_array(&arrays[1])?;
            Ok(ColumnarValue::Array(translate(values, langs)?))
        }),
    )
}

fn translate(values: &StringArray, langs: &StringArray) -> Result<ArrayRef, DataFusionError> {
    let mut out = StringBuilder::with_capacity(values.len(), values.value_data().len());
    for i in 0..values.len() {
        if values.is_null(i) {
            out.append_null();
            continue;
        }
        let v = values.value(i);
        if !v.trim_start().starts_with('{') {
            out.append_value(v);
            continue;
        }
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(v) {
            Ok(map) => {
                let lang = if langs.is_null(i) {
                    "en_US"
                } else {
                    langs.value(i)
                };
                // Company-dependent fields hold numbers by company id: as text.
                let as_text = |t: &serde_json::Value| match t {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                };
                let text = map
                    .get(lang)
                    .or_else(|| map.get("en_US"))
                    .and_then(as_text)
                    .or_else(|| map.values().find_map(as_text));
                match text {
                    Some(t) => out.append_value(t),
                    None => out.append_null(),
                }
            }
            Err(_) => out.append_value(v),
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translated_json_gives_the_language_and_plain_text_stays() {
        let values = StringArray::from(vec![
            Some(r#"{"en_US": "Desk", "fr_FR": "Bureau"}"#),
            Some(r#"{"de_DE": "Tisch"}"#),
            Some(r#"{"1": 8.25}"#),
            Some("Plain {not json"),
            Some("{broken"),
            None,
        ]);
        let langs = StringArray::from(vec!["fr_FR"; 6]);
        let out = translate(&values, &langs).unwrap();
        let out = out.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(out.value(0), "Bureau");
        assert_eq!(out.value(1), "Tisch");
        assert_eq!(out.value(2), "8.25");
        assert_eq!(out.value(3), "Plain {not json");
        assert_eq!(out.value(4), "{broken");
        assert!(out.is_null(5));
    }
}
