//! The JSON-RPC error codes of the contract: the only place they are written down.
//!
//! −32005…−32011 are left to the RPC library (busy, oversized, …).

/// The request is not valid JSON.
pub const PARSE_ERROR: i32 = -32700;
/// The JSON is not a valid JSON-RPC request.
pub const INVALID_REQUEST: i32 = -32600;
/// No such method.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// The params are missing, malformed or invalid.
pub const INVALID_PARAMS: i32 = -32602;
/// A fault inside the server.
pub const INTERNAL_ERROR: i32 = -32603;

/// Waiting for a job ended before the job did (`job.result` on a job that stays unfinished).
pub const WAIT_TIMED_OUT: i32 = -32000;
/// The secret is missing, unknown, or not allowed this method.
pub const UNAUTHORIZED: i32 = -32001;
/// No such job or runner.
pub const NOT_FOUND: i32 = -32002;
/// The request clashes with the current state: id taken, job already started, …
pub const CONFLICT: i32 = -32003;
/// The store (Redis or embedded) cannot be reached.
pub const BACKEND_UNAVAILABLE: i32 = -32004;

/// The server is busy: as many calls wait for jobs as `[limits] max_connections` allows.
/// The RPC library's own "server is busy" code, so clients treat both alike.
pub const BUSY: i32 = -32009;

/// Every code with the short meaning the OpenRPC document gives it.
pub const ALL: &[(i32, &str)] = &[
    (PARSE_ERROR, "parse error"),
    (INVALID_REQUEST, "invalid request"),
    (METHOD_NOT_FOUND, "method not found"),
    (INVALID_PARAMS, "invalid params"),
    (INTERNAL_ERROR, "internal error"),
    (WAIT_TIMED_OUT, "timed out waiting for the job to finish"),
    (UNAUTHORIZED, "unauthorized"),
    (NOT_FOUND, "not found"),
    (CONFLICT, "conflict"),
    (BACKEND_UNAVAILABLE, "backend unavailable"),
    (BUSY, "server busy"),
];

/// The short meaning of `code`, if it is one of ours.
pub fn meaning(code: i32) -> Option<&'static str> {
    ALL.iter()
        .find(|(known, _)| *known == code)
        .map(|(_, meaning)| *meaning)
}
