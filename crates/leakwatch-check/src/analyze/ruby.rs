//! Ruby rules.

use super::Ctx;

pub(crate) const FN: &[&str] = &["method", "singleton_method", "block", "do_block", "lambda"];

pub fn check(_cx: &mut Ctx) {}
