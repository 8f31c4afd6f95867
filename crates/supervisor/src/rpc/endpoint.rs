//! The runner endpoint's methods on the API port (`runner.claim`, …), for runners that reach
//! the store through the supervisor over HTTP: with the secret checked by the gate, each is
//! the call the Unix socket makes.

use hero_supervisor_api::methods::Method;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::runner_endpoint::{self, Refusal};
use crate::supervisor::Supervisor;

/// Serves `method` with its params by name.
pub(super) async fn call(
    supervisor: &Supervisor,
    method: &'static Method,
    mut named: Map<String, Value>,
) -> Result<Value, Error> {
    // Checked already; the store call takes the rest.
    named.remove("secret");
    runner_endpoint::run(supervisor.store.as_ref(), method.name, Value::Object(named))
        .await
        .map_err(|refusal| match refusal {
            Refusal::UnknownMethod => Error::NotServed {
                method: method.name,
            },
            Refusal::Invalid(reason) => Error::RunnerCall { reason },
            Refusal::Store(error) => Error::Store(error),
        })
}
