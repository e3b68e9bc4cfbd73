//! PHP rules.

use super::Ctx;

pub(crate) const FN: &[&str] = &[
    "function_definition",
    "method_declaration",
    "anonymous_function",
    "arrow_function",
];

pub fn check(_cx: &mut Ctx) {}
