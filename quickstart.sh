#!/usr/bin/env bash
# quickstart.sh -- install what is missing (Debian 12), build, then run the main job.
#   ./quickstart.sh [run [OPTIONS]]  build and run the depth study (about five minutes on two
#                                    cores); the report is out/depth-study/index.html.
#                                    OPTIONS go to examples/depth_study, e.g. --full (the
#                                    original's 30 epochs) or --data DIR
#   ./quickstart.sh check            build and run the whole test suite: plain, valgrind, fuzzing,
#                                    ThreadSanitizer, the soak, then ASan+UBSan
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD
mode=${1:-run}
[ $# -gt 0 ] && shift
jobs=$(nproc 2>/dev/null || echo 2)

# Debian packages the build, the tests and the main job need (chromium: the report's test).
pkgs=(build-essential autoconf automake libtool pkg-config
      libopenblas-dev zlib1g-dev libgraphviz-dev graphviz libplplot-dev plplot-driver-cairo
      libjansson-dev check valgrind clang libclang-rt-14-dev chromium)
# The study's data: MNIST in data/mnist (scripts/get-mnist.sh) or the real digits in
# ../shared/data/mnist-10k beside the checkout; without either, Debian's Fashion-MNIST.
has_digits() {
    local d
    for d in data/mnist ../shared/data/mnist-10k; do
        [ -f "$d/train-images-idx3-ubyte.gz" ] || [ -f "$d/train-images-idx3-ubyte" ] &&
            return 0
    done
    return 1
}
if [ "$mode" = run ] && ! has_digits && [[ " $* " != *" --data "* ]]; then
    pkgs+=(dataset-fashion-mnist)
fi

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
    ./build/examples/depth_study --out out/depth-study "$@"
    echo "quickstart: the report: $top/out/depth-study/index.html (open it in a browser)"
    ;;
check)
    build build
    make -C build -j"$jobs" check
    echo "quickstart: running the suite under valgrind memcheck"
    make -C build check-valgrind
    echo "quickstart: fuzzing the IDX reader, the params loader and the spec parser (libFuzzer)"
    make -C build fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
    echo "quickstart: two threads under ThreadSanitizer"
    make -C build check-tsan
    echo "quickstart: the soak: 110,000 training steps, flat memory and step time"
    make -C build check-soak
    echo "quickstart: running the suite again under AddressSanitizer + UndefinedBehaviorSanitizer"
    build build-asan --enable-sanitizers
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        make -C build-asan -j"$jobs" check
    ;;
*)
    echo "usage: $0 [run [depth_study options] | check]" >&2
    exit 2
    ;;
esac
