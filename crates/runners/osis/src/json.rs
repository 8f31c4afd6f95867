//! JSON for scripts, `to_json(value)` and `from_json(text)`, and for the key-value store,
//! whose values are kept as JSON text.
//!
//! Data round-trips: `()`, booleans, integers, floats, strings, arrays and object maps
//! (characters become strings, BLOBs arrays of integers). Function pointers, timestamps and
//! other non-data values are refused rather than written as something that reads back
//! differently.

use rhai::{Dynamic, Engine, Map};

use crate::Error;

/// `value` as compact JSON text; object map keys in sorted order.
///
/// # Errors
///
/// [`Error::NotJson`] when `value` holds something that is not data, e.g. a function pointer.
pub fn to_json(value: &Dynamic) -> Result<String, Error> {
    check_data(value)?;
    serde_json::to_string(value).map_err(|_| Error::NotJson {
        type_name: value.type_name(),
    })
}

/// The Rhai value of the JSON `text`: `null` is `()`, objects are object maps.
///
/// # Errors
///
/// [`Error::BadJson`] when `text` is not one JSON value.
pub fn from_json(text: &str) -> Result<Dynamic, Error> {
    serde_json::from_str(text).map_err(|source| Error::BadJson { source })
}

/// Registers `to_json(value)` (also as `map.to_json()`, replacing Rhai's own, which writes
/// some values as invalid JSON) and `from_json(text)`.
pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("to_json", |value: Dynamic| {
        to_json(&value).map_err(|error| error.in_function("to_json"))
    });
    engine.register_fn("to_json", |map: Map| {
        to_json(&map.into()).map_err(|error| error.in_function("to_json"))
    });
    engine.register_fn("from_json", |text: &str| {
        from_json(text).map_err(|error| error.in_function("from_json"))
    });
}

fn check_data(value: &Dynamic) -> Result<(), Error> {
    if let Ok(array) = value.as_array_ref() {
        return array.iter().try_for_each(check_data);
    }
    if let Ok(map) = value.as_map_ref() {
        return map.values().try_for_each(check_data);
    }
    let is_data = value.is_unit()
        || value.is_bool()
        || value.is_int()
        || value.is_float()
        || value.is_char()
        || value.is_string()
        || value.is_blob();
    if is_data {
        Ok(())
    } else {
        Err(Error::NotJson {
            type_name: value.type_name(),
        })
    }
}

#[cfg(test)]
mod tests {
    use rhai::{Array, FnPtr};

    use super::*;

    #[test]
    fn data_round_trips() {
        let mut map = Map::new();
        map.insert("b".into(), Dynamic::from_int(1));
        let array: Array = vec![
            Dynamic::from_float(2.5),
            "x".into(),
            Dynamic::UNIT,
            true.into(),
        ];
        map.insert("a".into(), array.into());
        let text = to_json(&map.clone().into()).expect("plain data");
        assert_eq!(text, r#"{"a":[2.5,"x",null,true],"b":1}"#);
        let back = from_json(&text).expect("valid JSON");
        assert_eq!(back.to_string(), Dynamic::from(map).to_string());
    }

    #[test]
    fn a_function_pointer_is_refused_even_inside_an_array() {
        let pointer = FnPtr::new("f").expect("a valid function name");
        let array: Array = vec![Dynamic::from_int(1), Dynamic::from(pointer)];
        let error = to_json(&array.into()).expect_err("not data");
        assert_eq!(
            error.to_string(),
            "a value of type `Fn` cannot be converted to JSON"
        );
    }

    #[test]
    fn invalid_text_is_refused() {
        assert!(matches!(from_json("{"), Err(Error::BadJson { .. })));
    }
}
