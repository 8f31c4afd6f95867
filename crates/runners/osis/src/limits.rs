//! [`Limits`]: how much one script may compute, allocate, nest, print and store.
//!
//! [`Limits::from_env`] reads them from `{PREFIX}_MAX_…` environment variables (the runner
//! binaries use `OSIS` and `SAL`); the engine applies them to Rhai and [`Limits::explain`]
//! turns Rhai's limit errors into messages that name the limit.

use std::sync::Arc;

use rhai::{Engine, EvalAltResult, ParseErrorType, Position};

use crate::Error;
use crate::depth::{DATA_DEPTH, DepthCheck};

/// The bounds on one script run; every field must be at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most operations (expressions and statements evaluated) one script may run.
    /// Default: 10⁹, a minute or more of work; the job's timeout usually ends a script first.
    pub max_operations: u64,
    /// Longest string, in bytes. Default: 10 MiB.
    pub max_string_bytes: usize,
    /// Most items in an array or BLOB, nested arrays included. Default: 1 000 000.
    pub max_array_len: usize,
    /// Most entries in an object map, nested maps included. Default: 100 000.
    pub max_map_len: usize,
    /// Deepest nesting of function calls. Default: 64.
    pub max_call_depth: usize,
    /// Deepest nesting of expressions and statements; half of it (at least 1) inside
    /// function bodies, which run deeper in the call stack. Default: 64.
    pub max_expr_depth: usize,
    /// Most bytes a script may print, one newline per line included. Default: 1 MiB.
    pub max_output_bytes: usize,
    /// Deepest nesting of data: arrays and object maps inside each other (`[]` is 1 level,
    /// `[[]]` 2). Default: 64. Deeper data would make every copy, comparison, print and
    /// drop of it recurse that deep, and building it costs time quadratic in its depth.
    pub max_data_depth: usize,
    /// Most bytes one context may keep in the key-value store, keys and values (as JSON)
    /// together. Default: 64 MiB. Only the `osis` runner has a store.
    pub max_kv_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000_000,
            max_string_bytes: 10 << 20,
            max_array_len: 1_000_000,
            max_map_len: 100_000,
            max_call_depth: 64,
            max_expr_depth: 64,
            max_output_bytes: 1 << 20,
            max_data_depth: 64,
            max_kv_bytes: crate::store::DEFAULT_MAX_CONTEXT_BYTES,
        }
    }
}

/// Sets one limit to a value read from the environment.
type SetLimit = fn(&mut Limits, u64);

/// Each limit's environment variable, after the prefix, and how it sets the limit.
const VARS: [(&str, SetLimit); 9] = [
    ("MAX_OPERATIONS", |l, n| l.max_operations = n),
    ("MAX_STRING_BYTES", |l, n| l.max_string_bytes = to_usize(n)),
    ("MAX_ARRAY_LEN", |l, n| l.max_array_len = to_usize(n)),
    ("MAX_MAP_LEN", |l, n| l.max_map_len = to_usize(n)),
    ("MAX_CALL_DEPTH", |l, n| l.max_call_depth = to_usize(n)),
    ("MAX_EXPR_DEPTH", |l, n| l.max_expr_depth = to_usize(n)),
    ("MAX_OUTPUT_BYTES", |l, n| l.max_output_bytes = to_usize(n)),
    ("MAX_DATA_DEPTH", |l, n| l.max_data_depth = to_usize(n)),
    ("MAX_KV_BYTES", |l, n| l.max_kv_bytes = to_usize(n)),
];

impl Limits {
    /// The defaults, overridden by the variables `{prefix}_MAX_OPERATIONS`,
    /// `_MAX_STRING_BYTES`, `_MAX_ARRAY_LEN`, `_MAX_MAP_LEN`, `_MAX_CALL_DEPTH`,
    /// `_MAX_EXPR_DEPTH`, `_MAX_OUTPUT_BYTES`, `_MAX_DATA_DEPTH` and `_MAX_KV_BYTES` of this
    /// process's environment.
    ///
    /// # Errors
    ///
    /// [`Error::BadLimit`] naming the first variable that is not a whole number of at least 1.
    pub fn from_env(prefix: &str) -> Result<Self, Error> {
        Self::from_vars(prefix, |name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading each variable through `var`.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_vars(prefix: &str, var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut limits = Self::default();
        for (suffix, set) in VARS {
            let name = format!("{prefix}_{suffix}");
            let Some(value) = var(&name) else { continue };
            match value.trim().parse::<u64>() {
                Ok(n) if n > 0 => set(&mut limits, n),
                _ => return Err(Error::BadLimit { name, value }),
            }
        }
        Ok(limits)
    }

    /// Sets the operation, size, call-depth and expression-depth limits on `engine`, and
    /// has it check the depth of data with `depth`.
    pub(crate) fn apply(&self, engine: &mut Engine, depth: Arc<DepthCheck>) {
        engine
            .set_max_operations(self.max_operations)
            .set_max_string_size(self.max_string_bytes)
            .set_max_array_size(self.max_array_len)
            .set_max_map_size(self.max_map_len)
            .set_max_call_levels(self.max_call_depth)
            .set_max_expr_depths(self.max_expr_depth, self.function_expr_depth());
        // Rhai checks a map's size when the map is passed on, but not when `m[key] = value`
        // adds an entry to a variable; checking a map variable each time it is used bounds
        // that growth. Maps nested in a variable are still checked only when passed on.
        // Rhai bounds no nesting of data: `depth` checks every value read, `this` included.
        let max_map_len = self.max_map_len;
        // Rhai flags `on_var` as `deprecated` only to say the API is volatile; it is not
        // deprecated, and a change would show up as a compile error here.
        #[allow(deprecated)]
        engine.on_var(move |name, _, context| {
            let too_large = |what: &str| {
                Err(EvalAltResult::ErrorDataTooLarge(what.into(), Position::NONE).into())
            };
            let value = context.scope().get(name);
            if value
                .and_then(|value| value.as_map_ref().ok().map(|map| map.len()))
                .is_some_and(|len| len > max_map_len)
            {
                return too_large("Size of object map");
            }
            let ops = context.global_runtime_state().num_operations();
            let mut read = value.into_iter().chain(context.this_ptr());
            if read.any(|value| depth.is_too_deep(value, ops)) {
                return too_large(DATA_DEPTH);
            }
            Ok(None)
        });
    }

    /// Native stack for a thread running a script under these limits: 8 KiB per level of
    /// nesting (calls × expressions in function bodies), at least 16 MiB. Rhai recurses
    /// natively, up to 4 KiB per level in debug builds, so the depth limits, not the
    /// stack, end deep nesting.
    pub fn stack_bytes(&self) -> usize {
        const PER_LEVEL_BYTES: usize = 8 << 10;
        let levels = self
            .max_call_depth
            .saturating_add(1)
            .saturating_mul(self.function_expr_depth());
        levels.saturating_mul(PER_LEVEL_BYTES).max(16 << 20)
    }

    fn function_expr_depth(&self) -> usize {
        (self.max_expr_depth / 2).max(1)
    }

    /// The message for `error` when it is one of Rhai's limit errors, naming the limit.
    pub(crate) fn explain(&self, error: &EvalAltResult) -> Option<String> {
        let message = match error {
            EvalAltResult::ErrorTooManyOperations(_) => {
                format!(
                    "script exceeded the limit of {} operations",
                    self.max_operations
                )
            }
            EvalAltResult::ErrorStackOverflow(_) => format!(
                "script exceeded the limit of {} nested function calls",
                self.max_call_depth
            ),
            EvalAltResult::ErrorDataTooLarge(what, _) => self.explain_size(what)?,
            EvalAltResult::ErrorParsing(ParseErrorType::ExprTooDeep, _) => format!(
                "script exceeded the limit of {} nested expressions ({} in function bodies)",
                self.max_expr_depth,
                self.function_expr_depth()
            ),
            EvalAltResult::ErrorParsing(ParseErrorType::LiteralTooLarge(what, _), _) => {
                self.explain_size(what)?
            }
            _ => return None,
        };
        let position = error.position();
        Some(if position.is_none() {
            message
        } else {
            format!("{message} ({position})")
        })
    }

    /// `what` is how Rhai names the value that grew too large, e.g. "Length of string".
    fn explain_size(&self, what: &str) -> Option<String> {
        if what == DATA_DEPTH {
            return Some(format!(
                "data exceeded the limit of {} levels of nesting (arrays and maps)",
                self.max_data_depth
            ));
        }
        if what == KV_BYTES {
            return Some(format!(
                "the key-value store of the job's context exceeded the limit of {} bytes",
                self.max_kv_bytes
            ));
        }
        let (noun, max, unit) = if what.contains("string") {
            ("a string", self.max_string_bytes, "bytes")
        } else if what.contains("array") {
            ("an array", self.max_array_len, "items")
        } else if what.contains("map") {
            ("an object map", self.max_map_len, "entries")
        } else {
            return None;
        };
        Some(format!("{noun} exceeded the limit of {max} {unit}"))
    }
}

/// What a [`EvalAltResult::ErrorDataTooLarge`] names when a context's store is full; the
/// `kv` functions raise it, so a script cannot catch it, as no other limit can be caught.
pub(crate) const KV_BYTES: &str = "Size of key-value store";

/// Limits above the address space are as good as none.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Limits, Error> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Limits::from_vars("OSIS", |name| vars.get(name).cloned())
    }

    #[test]
    fn no_variables_give_the_defaults() {
        assert_eq!(from(&[]).expect("no variables"), Limits::default());
    }

    #[test]
    fn each_variable_sets_its_limit() {
        let limits = from(&[
            ("OSIS_MAX_OPERATIONS", "1"),
            ("OSIS_MAX_STRING_BYTES", "2"),
            ("OSIS_MAX_ARRAY_LEN", "3"),
            ("OSIS_MAX_MAP_LEN", "4"),
            ("OSIS_MAX_CALL_DEPTH", "5"),
            ("OSIS_MAX_EXPR_DEPTH", " 6 "),
            ("OSIS_MAX_OUTPUT_BYTES", "7"),
            ("OSIS_MAX_DATA_DEPTH", "8"),
            ("OSIS_MAX_KV_BYTES", "9"),
            ("SAL_MAX_OPERATIONS", "99"),
        ])
        .expect("every value is valid");
        let expected = Limits {
            max_operations: 1,
            max_string_bytes: 2,
            max_array_len: 3,
            max_map_len: 4,
            max_call_depth: 5,
            max_expr_depth: 6,
            max_output_bytes: 7,
            max_data_depth: 8,
            max_kv_bytes: 9,
        };
        assert_eq!(limits, expected);
    }

    #[test]
    fn a_bad_value_is_refused_by_name() {
        for bad in ["0", "-1", "lots", ""] {
            let error = from(&[("OSIS_MAX_CALL_DEPTH", bad)]).expect_err("invalid");
            assert_eq!(
                error.to_string(),
                format!("`OSIS_MAX_CALL_DEPTH` is `{bad}`; expected a whole number of at least 1")
            );
        }
    }
}
