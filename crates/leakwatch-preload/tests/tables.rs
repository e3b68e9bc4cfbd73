//! The writer's tables (`src/tables.rs`), tested here: the library's own
//! test harness would link the malloc hooks into itself.

#[path = "../src/tables.rs"]
#[allow(dead_code)]
mod tables;
