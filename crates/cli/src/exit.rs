//! Exit statuses, and which failures lead to which.
//!
//! 0 success; 1 the job failed (or another error the supervisor answered, such as an unknown
//! job); 2 usage; 3 the supervisor is unreachable or refused the call (no answer, a bad
//! secret, its store down).

use hero_supervisor_openrpc_client::{ClientError, codes};

/// The command did what was asked.
pub(crate) const SUCCESS: u8 = 0;
/// The job failed or was stopped, or the supervisor answered with another error.
pub(crate) const FAILED: u8 = 1;
/// The command line was wrong; clap uses the same status for its own errors.
pub(crate) const USAGE: u8 = 2;
/// The supervisor could not be reached, or refused the call.
pub(crate) const UNREACHABLE: u8 = 3;

/// A mistake in how `hero` was called that clap cannot see, e.g. no payload anywhere.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(pub(crate) String);

/// The exit status for `error`: the first cause in its chain that decides one.
pub(crate) fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<Usage>().is_some() {
            return USAGE;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return code_of_client(client);
        }
    }
    FAILED
}

/// `error` and its causes on one line, as `{:#}` shows them, without the code's name twice
/// where the supervisor's message already starts with it (`not found: not found: …`).
pub(crate) fn describe(error: &anyhow::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|cause| {
            let text = cause.to_string();
            match text.split_once(": ") {
                Some((name, rest)) if rest.starts_with(&format!("{name}: ")) => rest.to_owned(),
                _ => text,
            }
        })
        .collect();
    parts.join(": ")
}

/// True when stdout was closed by its reader.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn code_of_client(error: &ClientError) -> u8 {
    match error {
        ClientError::InvalidUrl { .. } | ClientError::InvalidCertificate { .. } => USAGE,
        ClientError::Transport(_)
        | ClientError::WebSocket { .. }
        | ClientError::SubscriptionEnded { .. } => UNREACHABLE,
        other => match other.code() {
            Some(codes::UNAUTHORIZED | codes::BACKEND_UNAVAILABLE) => UNREACHABLE,
            _ => FAILED,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(code: i32) -> anyhow::Error {
        let message = "m".to_owned();
        anyhow::Error::new(match code {
            codes::UNAUTHORIZED => ClientError::Unauthorized { message },
            codes::BACKEND_UNAVAILABLE => ClientError::BackendUnavailable { message },
            codes::NOT_FOUND => ClientError::NotFound { message },
            code => ClientError::Rpc { code, message },
        })
    }

    #[test]
    fn refusals_and_a_down_store_exit_3_other_answers_exit_1() {
        assert_eq!(code_of(&rpc(codes::UNAUTHORIZED)), UNREACHABLE);
        assert_eq!(code_of(&rpc(codes::BACKEND_UNAVAILABLE)), UNREACHABLE);
        assert_eq!(code_of(&rpc(codes::NOT_FOUND)), FAILED);
        assert_eq!(code_of(&rpc(codes::METHOD_NOT_FOUND)), FAILED);
    }

    #[test]
    fn the_code_is_named_once() {
        let error = anyhow::Error::new(ClientError::NotFound {
            message: "not found: no job with this id".into(),
        })
        .context("job j1");
        assert_eq!(describe(&error), "job j1: not found: no job with this id");
        let error = rpc(codes::METHOD_NOT_FOUND);
        assert_eq!(describe(&error), "rpc error -32601: m");
    }

    #[test]
    fn the_cause_decides_through_added_context() {
        let error = rpc(codes::UNAUTHORIZED).context("listing jobs");
        assert_eq!(code_of(&error), UNREACHABLE);
        let error = anyhow::Error::new(Usage("no payload".into())).context("run");
        assert_eq!(code_of(&error), USAGE);
        assert_eq!(code_of(&anyhow::anyhow!("other")), FAILED);
    }
}
