//! [`DepthCheck`]: the nesting depth of a script's data, which Rhai does not bound.
//!
//! Data grows deeper a bounded number of levels per operation, and each step that wraps a
//! value reads it from a variable; the engine's variable hook (see `limits`) asks this
//! check about every container it reads, and about `this`. Only a method can grow `this`
//! without reading a variable, so a script that uses `this` (or `eval`, which could) also
//! has `this` checked at every step ([`watch_this`]), through Rhai's debugger interface:
//! slower, as Rhai then copies the arguments of every call, but only for those scripts.
//!
//! A walk costs the value's size, so a value found shallow is trusted, by address and
//! length, for a number of operations that grows with its size (at most [`MAX_TRUST_OPS`]),
//! and an array that only grew has only its new items walked: reading or filling a large
//! array in a loop stays cheap. Data then overshoots the limit by at most about that many
//! levels before the check fails the script, far from what could exhaust the script
//! thread's stack (some 100 000 levels).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rhai::debugger::DebuggerCommand;
use rhai::{AST, ASTNode, Array, Dynamic, Engine, EvalAltResult, Expr, Map, Stmt};

/// What a [`EvalAltResult::ErrorDataTooLarge`] names when data is nested too deep.
pub(crate) const DATA_DEPTH: &str = "Depth of data";

/// Fewest operations a value found shallow is trusted for.
const MIN_TRUST_OPS: u64 = 64;
/// Most operations a value found shallow is trusted for, however large it is.
const MAX_TRUST_OPS: u64 = 4096;
/// Trusted values kept at most; past it, all are forgotten.
const MAX_TRUSTED: usize = 1024;

/// Checks the depth of values against one script's limit.
#[derive(Debug)]
pub(crate) struct DepthCheck {
    max_depth: usize,
    /// Values found shallow, by the address of their array or map. A std mutex: the
    /// engine's hooks must be `Sync`, and one script's thread is the only user.
    trusted: Mutex<HashMap<usize, Trusted>>,
}

impl DepthCheck {
    /// A check for data at most `max_depth` levels deep.
    pub(crate) fn new(max_depth: usize) -> Self {
        Self {
            max_depth,
            trusted: Mutex::default(),
        }
    }

    /// Whether `value`, read when the script had run `ops` operations, holds arrays or maps
    /// nested deeper than the limit.
    pub(crate) fn is_too_deep(&self, value: &Dynamic, ops: u64) -> bool {
        let Some(identity) = identity(value) else {
            return false;
        };
        let mut trusted = self.trusted.lock().unwrap_or_else(PoisonError::into_inner);
        let mut visited = 0;
        if let Some(entry) = trusted.get_mut(&identity.address)
            && ops.saturating_sub(entry.walked_at) < entry.trust
        {
            if identity.len == entry.len {
                return false;
            }
            // An array that only grew, as by `push`, needs only its new items walked.
            if let (true, Ok(array)) = (identity.len > entry.len, value.as_array_ref()) {
                let new_items = array.get(entry.len..).unwrap_or_default();
                let below = self.max_depth.saturating_sub(1);
                if self.max_depth == 0
                    || new_items
                        .iter()
                        .any(|item| is_deeper_than(item, below, &mut visited))
                {
                    return true;
                }
                entry.len = identity.len;
                return false;
            }
        }
        if is_deeper_than(value, self.max_depth, &mut visited) {
            return true;
        }
        if trusted.len() >= MAX_TRUSTED {
            trusted.clear();
        }
        let trust = u64::try_from(visited / 4)
            .unwrap_or(u64::MAX)
            .clamp(MIN_TRUST_OPS, MAX_TRUST_OPS);
        let entry = Trusted {
            len: identity.len,
            walked_at: ops,
            trust,
        };
        trusted.insert(identity.address, entry);
        false
    }
}

/// A value found shallow, trusted for `trust` operations after `walked_at`.
#[derive(Debug)]
struct Trusted {
    len: usize,
    walked_at: u64,
    trust: u64,
}

/// Where an array or map lives, and its length.
struct Identity {
    address: usize,
    len: usize,
}

/// Whether `ast` uses `this`, or calls `eval`, whose code could.
pub(crate) fn uses_this(ast: &AST) -> bool {
    let mut found = false;
    ast.walk(&mut |path: &[ASTNode]| {
        found = match path.last() {
            Some(ASTNode::Expr(Expr::ThisPtr(..))) => true,
            Some(ASTNode::Expr(Expr::FnCall(call, ..)) | ASTNode::Stmt(Stmt::FnCall(call, ..))) => {
                call.name == "eval"
            }
            Some(ASTNode::Expr(Expr::StringConstant(text, ..))) => text.as_str() == "eval",
            _ => false,
        };
        !found
    });
    found
}

/// Checks `this` at every step of the script: the error ends it when `this` is too deep.
pub(crate) fn watch_this(engine: &mut Engine, check: Arc<DepthCheck>) {
    // Rhai flags the debugger interface as `deprecated` only to say it is volatile; it is
    // not deprecated, and a change would show up as a compile error here.
    #[allow(deprecated)]
    engine.register_debugger(
        |_, debugger| debugger,
        move |context, _, _, _, position| {
            let ops = context.global_runtime_state().num_operations();
            if context
                .this_ptr()
                .is_some_and(|this| check.is_too_deep(this, ops))
            {
                return Err(EvalAltResult::ErrorDataTooLarge(DATA_DEPTH.into(), position).into());
            }
            Ok(DebuggerCommand::StepInto)
        },
    );
}

/// The address and length of the array or map `value` holds.
fn identity(value: &Dynamic) -> Option<Identity> {
    if let Ok(array) = value.as_array_ref() {
        let array: &Array = &array;
        let address = std::ptr::from_ref(array) as usize;
        return Some(Identity {
            address,
            len: array.len(),
        });
    }
    if let Ok(map) = value.as_map_ref() {
        let map: &Map = &map;
        let address = std::ptr::from_ref(map) as usize;
        return Some(Identity {
            address,
            len: map.len(),
        });
    }
    None
}

/// Whether `value` holds arrays or maps nested more than `max` levels deep, counting the
/// items looked at in `visited`. Stops at the first branch past `max`, so it recurses at most
/// `max + 1` levels.
pub(crate) fn is_deeper_than(value: &Dynamic, max: usize, visited: &mut usize) -> bool {
    *visited += 1;
    // `is_array`/`is_map` only look at the type: the common item, a scalar, costs no more.
    if value.is_array() {
        let Ok(array) = value.as_array_ref() else {
            return false;
        };
        return max == 0
            || array
                .iter()
                .any(|item| is_deeper_than(item, max - 1, visited));
    }
    if value.is_map() {
        let Ok(map) = value.as_map_ref() else {
            return false;
        };
        return max == 0
            || map
                .values()
                .any(|item| is_deeper_than(item, max - 1, visited));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> Dynamic {
        let mut value = Dynamic::from_array(Array::new());
        for _ in 1..depth {
            value = Dynamic::from_array(vec![Dynamic::from_int(1), value]);
        }
        value
    }

    #[test]
    fn depth_counts_arrays_and_maps_not_scalars() {
        let mut visited = 0;
        assert!(!is_deeper_than(&Dynamic::from_int(1), 0, &mut visited));
        assert!(!is_deeper_than(&nested(3), 3, &mut visited));
        assert!(is_deeper_than(&nested(4), 3, &mut visited));
        let mut map = Map::new();
        map.insert("a".into(), nested(2));
        assert!(is_deeper_than(&Dynamic::from_map(map), 2, &mut visited));
    }

    #[test]
    fn items_added_to_a_trusted_array_are_walked_at_once() {
        let check = DepthCheck::new(3);
        let mut value = nested(2);
        assert!(!check.is_too_deep(&value, 0));
        if let Some(mut array) = value.write_lock::<Array>() {
            array.push(nested(3));
        }
        assert!(check.is_too_deep(&value, 1));
    }

    #[test]
    fn a_shallow_value_is_trusted_for_a_while_then_walked_again() {
        let check = DepthCheck::new(3);
        let mut value = nested(3);
        assert!(!check.is_too_deep(&value, 0));
        // Deepen it in place: same address, same length.
        if let Some(mut array) = value.write_lock::<Array>() {
            array[1] = nested(3);
        }
        assert!(
            !check.is_too_deep(&value, MIN_TRUST_OPS - 1),
            "still trusted"
        );
        assert!(check.is_too_deep(&value, MIN_TRUST_OPS), "walked again");
    }
}
