//! The fault suite of issue 14 ("a tool you can trust as root and as a CI
//! gate"): one regression test per finding, each against the real binary on
//! real inputs and processes, plus the tracer robustness set. Findings whose
//! regression test lives elsewhere are listed here, not repeated:
//!
//! | finding | test |
//! |---|---|
//! | `trace --follow-fork`: planted links at `OUT.<pid>` | `security::follow_fork_never_writes_through_or_lists_planted_links` |
//! | `trace -o PATH` unlinks anything (`/dev/null`) | `trace_report::output_paths_are_checked_before_the_program_starts` |
//! | (what to build) every output opened without following links | `security::no_output_is_written_through_a_planted_link`; traces: `trace_report::output_paths_are_checked_before_the_program_starts` |
//! | snapshots, traces, the store written 0644 | `security::traces_and_heap_snapshots_are_private`; the store: `agent_trust::the_store_is_private_and_a_planted_symlink_is_refused`; JVM dumps: `hprof_jdk::snapshot_jvm_takes_private_dumps_and_diffs_them` |
//! | `report` mmaps the trace (SIGBUS when cut) | `trace_report::hostile_traces_are_bounded_and_harmless` (the pipe cut halfway) |
//! | `report` blocks on a FIFO named as a module | `trace_report::hostile_traces_are_bounded_and_harmless` (the FIFO module) |
//! | escape sequences from module names reach the terminal | `trace_report::hostile_traces_are_bounded_and_harmless` |
//! | escape sequences from file names and snippets (`check`) | `security::check_escapes_file_names_and_snippets` |
//! | pprof: 100 samples x 1,000 inlined frames | `security::pprof_with_thousands_of_inlined_frames_stays_small` |
//! | pprof: 32 M empty strings | `heap_pprof::hostile_profiles_are_refused_with_exit_2` |
//! | trace: 32 M empty stack records | `trace_report::hostile_traces_are_bounded_and_harmless` |
//! | `analyze` keeps every row; an endless line | `analyze_watch::analyze_is_bounded_on_endless_lines_and_long_files` |
//! | `/metrics`: a thread per connection | `agent_trust::half_open_connections_cost_no_threads_and_are_timed_out` |
//! | label values not escaped | `agent_promtool::live_metrics_pass_promtool_and_the_openmetrics_parser` |
//! | webhook URLs not validated | `agent_trust::webhook_urls_other_than_http_are_refused_at_start` |
//! | redirects followed silently | `security::webhook_redirects_are_refused_not_followed` (live, about a minute); unit test `leakwatch-agent` `alert::tests::a_redirect_is_refused_not_followed` |
//! | a trace cut to 40 bytes | `trace_report::a_crash_a_cut_trace_and_lost_data_are_never_no_leak` |
//! | `close_range` | `tracer::close_range_over_every_fd_keeps_the_trace`, `tracer::closefrom_keeps_the_trace` |
//! | `dup2` over the tracer's fd | `tracer::dup2_over_the_tracers_own_fd_keeps_the_trace_and_the_programs_file`; racing the writer's check and write: `tracer::dup2_racing_the_writer_never_puts_trace_bytes_in_the_programs_file`, `tracer::close_racing_the_writer_keeps_the_trace_complete` |
//! | `quick_exit` | `tracer::quick_exit_is_a_complete_trace` |
//! | an out-of-memory program | `tracer::out_of_memory_under_rlimit_as_is_traced_or_says_what_was_lost` |
//! | a crash right after the leak | `trace_report::a_crash_a_cut_trace_and_lost_data_are_never_no_leak`; `tracer::abort_is_never_no_leak` |
//! | `run --load nosuchtool` exits 0 | `verdicts::a_load_command_that_fails_is_never_a_pass` |
//! | `diff --top 0` exits 0 on a leak | `heap_golden` (`--top 0` block) and `heap_pprof::top_zero_keeps_the_verdict_and_json_is_versioned` |
//! | `analyze`: epoch `t_s` printed as elapsed | `analyze_watch::analyze_shows_epoch_times_from_the_first_row` |
//! | `check`: cubic on chained / nested calls | `check::deep_and_chained_files_are_bounded` |
//! | `check`: non-UTF-8 names, FIFOs skipped silently | `check::every_skipped_file_is_listed_and_lost_ones_make_exit_2` |
//! | `watch --cgroup` of a removed cgroup | `agent_trust::a_removed_cgroup_ends_the_watch_with_a_message` |
//! | `watch --pid 2`, zombies, `--name ""` | `agent_trust::kernel_threads_zombies_and_empty_names_are_clear_errors` |
//! | SIGKILL to `run` leaves the target | `cli_signals::sigkill_to_run_leaves_no_target_behind` |
//! | `run --junit /missing/dir/x.xml` | `cli_junit::unwritable_output_paths_fail_before_the_target_starts` |
//! | `--interval 0s` accepted | `verdicts::a_zero_interval_is_refused_before_anything_starts` |
//! | `snapshot` cut mid-series | `verdicts::a_snapshot_series_cut_short_diffs_the_complete_ones_and_says_what_was_lost` |
//!
//! Every live test is short and has generous deadlines: the suite runs with
//! `--test-threads 8` on small shared machines.

mod common;

#[path = "faults/security.rs"]
mod security;
#[path = "faults/tracer.rs"]
mod tracer;
#[path = "faults/verdicts.rs"]
mod verdicts;

#[path = "faults/support.rs"]
mod support;
