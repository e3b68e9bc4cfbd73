#!/usr/bin/env bash
# What `leakwatch trace` tests need: C and C++ compilers to build the traced
# programs (rustc comes with the toolchain), Go, whose `go tool pprof`
# cross-checks the pprof export, and for the tracer's fidelity tests:
# jemalloc and tcmalloc (programs that bring their own allocator), valgrind
# (leaks compared with memcheck's), heaptrack (another tracer, refused) and
# clang (a sanitizer runtime linked into the program); the runtimes whose
# residue is told from a native leak: a JDK (JNI), Ruby, node with its
# N-API header (a native addon; Debian's nodejs ships it in libnode-dev).
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
command -v go >/dev/null || need+=(golang-go)
command -v clang >/dev/null || need+=(clang)
command -v valgrind >/dev/null || need+=(valgrind)
command -v heaptrack >/dev/null || need+=(heaptrack)
[ -e /usr/include/jemalloc/jemalloc.h ] || need+=(libjemalloc-dev)
[ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || need+=(libtcmalloc-minimal4)
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
command -v ruby >/dev/null || need+=(ruby)
command -v node >/dev/null || need+=(nodejs)
[ -e /usr/include/node/node_api.h ] || need+=(libnode-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}"
fi
