#!/usr/bin/env bash
# quickstart.sh -- install what is missing (Debian 12), build, then run the main job.
#   ./quickstart.sh          build and run the main job (writes ./out/)
#   ./quickstart.sh check    build and run the whole test suite (plain, then ASan+UBSan)
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD
mode=${1:-run}
jobs=$(nproc 2>/dev/null || echo 2)

# Debian packages the build, the tests and the main job need.
pkgs=(build-essential autoconf automake libtool pkg-config
      libopenblas-dev zlib1g-dev libgraphviz-dev graphviz libplplot-dev plplot-driver-cairo
      libjansson-dev check valgrind clang libclang-rt-14-dev)

install_missing() {
    local missing=() p
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "quickstart: installing ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build DIR [configure args...]: an out-of-tree build, so the source tree stays clean
build() {
    local dir=$1; shift
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        autoreconf -fi
    fi
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/Makefile" ]; then
        (cd "$dir" && "$top/configure" "$@")
    fi
    make -C "$dir" -j"$jobs"
}

install_missing
case "$mode" in
run)
    build build
    mkdir -p out
    ./build/examples/graph_viz out
    echo "quickstart: wrote out/graph.dot and out/graph.svg"
    ;;
check)
    build build
    make -C build -j"$jobs" check
    echo "quickstart: running the suite under valgrind memcheck"
    make -C build check-valgrind
    echo "quickstart: fuzzing the IDX reader, the params loader and the spec parser (libFuzzer)"
    make -C build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
    echo "quickstart: running the suite again under AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan --enable-sanitizers
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        make -C build-asan -j"$jobs" check
    ;;
*)
    echo "usage: $0 [check]" >&2
    exit 2
    ;;
esac
