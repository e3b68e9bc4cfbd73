//! Generates the pprof `Profile` types from proto/profile.proto with protox
//! (a pure-Rust protobuf compiler), so no `protoc` binary is needed.

fn main() {
    println!("cargo:rerun-if-changed=proto/profile.proto");
    let descriptors =
        protox::compile(["proto/profile.proto"], ["proto"]).expect("proto/profile.proto compiles");
    prost_build::Config::new()
        .compile_fds(descriptors)
        .expect("prost-build generates the profile types");
}
