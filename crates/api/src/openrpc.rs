//! The `rpc.discover` document, generated from the method table so it cannot drift.

use serde_json::{Value, json};

use crate::codes;
use crate::methods::{ALL, Method, SUBSCRIPTIONS};

/// The OpenRPC version the document follows.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// The OpenRPC document of every method in [`ALL`] and [`SUBSCRIPTIONS`], for server
/// `version`.
pub fn document(version: &str) -> Value {
    json!({
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "Hero Supervisor",
            "version": version,
            "description": "Runs jobs on supervised runners. Params are accepted by name (an \
                object) or by position (an array, in the order listed). Secrets: admin ⊇ user; \
                register only registers runners.",
            "license": {"name": "Apache-2.0"}
        },
        "methods": ALL.iter().chain(SUBSCRIPTIONS).map(method).collect::<Vec<_>>(),
    })
}

fn method(method: &Method) -> Value {
    let params: Vec<Value> = method
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "summary": p.summary,
                "required": p.required,
                "schema": (p.schema)(),
            })
        })
        .collect();
    let errors: Vec<Value> = method
        .errors
        .iter()
        .map(|&code| json!({"code": code, "message": codes::meaning(code).unwrap_or("error")}))
        .collect();
    let (result_name, result_schema) = method.result;
    json!({
        "name": method.name,
        "summary": method.summary,
        "description": format!("{} {}", method.description, method.access.describe()),
        "paramStructure": "either",
        "params": params,
        "result": {"name": result_name, "schema": result_schema()},
        "errors": errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_validates_against_the_openrpc_meta_schema() {
        let meta: Value =
            serde_json::from_str(include_str!("../tests/openrpc-meta-schema.json")).unwrap();
        let validator = jsonschema::validator_for(&meta).unwrap();
        let doc = document("0.0.0");
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn params_keep_positional_order_and_mark_mandatory_ones() {
        let doc = document("0.0.0");
        let status = doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "job.status")
            .unwrap();
        assert_eq!(status["params"][0]["name"], "job_id");
        assert_eq!(status["params"][0]["required"], true);
        assert_eq!(status["params"][1]["name"], "secret");
        assert_eq!(status["params"][1]["required"], false);
    }
}
