//! Lets `jobs.unsubscribe` and `runner_logs.unsubscribe` take their subscription id by name
//! (`{"subscription": ID}`), as the method table declares, and not only by position: the RPC
//! library reads an unsubscribe's id from the first positional param alone.

use std::borrow::Cow;

use hero_supervisor_api::methods::names;
use jsonrpsee::core::middleware::{Batch, Notification, RpcServiceT};
use jsonrpsee::types::Request;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The RPC service `S`, with unsubscribe params by name turned into params by position.
#[derive(Clone)]
pub(crate) struct ByName<S>(pub(crate) S);

impl<S> RpcServiceT for ByName<S>
where
    S: RpcServiceT + Send + Sync + Clone + 'static,
{
    type MethodResponse = S::MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(
        &self,
        mut request: Request<'a>,
    ) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        if let Some(params) = positional(&request.method, request.params.as_deref()) {
            request.params = Some(Cow::Owned(params));
        }
        self.0.call(request)
    }

    fn batch<'a>(
        &self,
        mut batch: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        for entry in batch.iter_mut().flatten() {
            if let Some(params) = positional(entry.method_name(), entry.params().map(|p| &**p)) {
                entry.set_params(Some(params));
            }
        }
        self.0.batch(batch)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.0.notification(n)
    }
}

/// `[ID]` for the params `{"subscription": ID}` of an unsubscribe method; `None` for any other
/// method or params, which go on unchanged (wrong params are refused as before).
fn positional(method: &str, params: Option<&RawValue>) -> Option<Box<RawValue>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Named<'a> {
        #[serde(borrow)]
        subscription: &'a RawValue,
    }
    if method != names::JOBS_UNSUBSCRIBE && method != names::RUNNER_LOGS_UNSUBSCRIBE {
        return None;
    }
    let text = params?.get();
    // A struct also reads from an array: params by position must stay as they are.
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let named: Named<'_> = serde_json::from_str(text).ok()?;
    RawValue::from_string(format!("[{}]", named.subscription.get())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("valid JSON")
    }

    #[test]
    fn an_unsubscribe_by_name_becomes_one_by_position() {
        let params = raw(r#"{"subscription": "abc"}"#);
        let rewritten = positional("jobs.unsubscribe", Some(&params)).expect("rewritten");
        assert_eq!(rewritten.get(), r#"["abc"]"#);
        assert!(positional("runner_logs.unsubscribe", Some(&params)).is_some());
    }

    #[test]
    fn other_methods_and_other_params_are_left_alone() {
        let named = raw(r#"{"subscription": "abc"}"#);
        assert!(positional("jobs.list", Some(&named)).is_none());
        for text in [
            r#"["abc"]"#,
            r#"{"id": "abc"}"#,
            r#"{"subscription": 1, "x": 2}"#,
        ] {
            assert!(
                positional("jobs.unsubscribe", Some(&raw(text))).is_none(),
                "{text}"
            );
        }
        assert!(positional("jobs.unsubscribe", None).is_none());
    }
}
