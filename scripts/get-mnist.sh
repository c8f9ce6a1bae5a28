#!/bin/sh
# get-mnist.sh -- download the four MNIST files (IDX, gzip) into data/mnist and verify them.
#
# Usage: scripts/get-mnist.sh [URL_BASE]
#   URL_BASE (or $MNIST_URL): where train-images-idx3-ubyte.gz etc. live (http://, https://
#            or file://); by default two public mirrors of the original files are tried.
#   $MNIST_DIR:        destination directory (default data/mnist).
#   $MNIST_SHA256SUMS: a file in `sha256sum` format to verify against instead of the built-in
#                      sums of the classic distribution (for a mirror of other data).
# Files already present with the right sum are kept. Exit status: 0 done, 1 download failed,
# 2 checksum mismatch, 3 no download tool or bad arguments.
set -eu

prog=get-mnist.sh
dest=${MNIST_DIR:-data/mnist}
base=${1:-${MNIST_URL:-}}
if [ -n "$base" ]; then
    bases=$base
else
    mirror1=https://ossci-datasets.s3.amazonaws.com/mnist
    mirror2=https://storage.googleapis.com/cvdf-datasets/mnist
    bases="$mirror1 $mirror2"
fi

# SHA-256 of the classic MNIST .gz files (LeCun, Cortes, Burges).
builtin_sums='
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz'

die() { code=$1; shift; echo "$prog: $*" >&2; exit "$code"; }

if [ -n "${MNIST_SHA256SUMS:-}" ]; then
    [ -r "$MNIST_SHA256SUMS" ] || die 3 "cannot read MNIST_SHA256SUMS file '$MNIST_SHA256SUMS'"
    sums=$(cat "$MNIST_SHA256SUMS")
else
    sums=$builtin_sums
fi

if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
    die 3 "need sha256sum or shasum to verify the files"
fi

# fetch URL FILE: 0 on success
if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --connect-timeout 15 --retry 1 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
    fetch() {
        case $1 in
        file://*) cp "${1#file://}" "$2" ;;
        *) wget -q -T 15 -t 2 -O "$2" "$1" ;;
        esac
    }
else
    die 3 "need curl or wget to download"
fi

mkdir -p "$dest" || die 1 "cannot create '$dest'"
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
         t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    want=$(printf '%s\n' "$sums" | awk -v f="$f" '$2 == f || $2 == "*" f { print $1 }')
    [ -n "$want" ] || die 3 "no SHA-256 sum for $f"
    if [ -f "$dest/$f" ] && [ "$(sha256 "$dest/$f")" = "$want" ]; then
        echo "$prog: $dest/$f present and verified"
        continue
    fi
    part="$dest/.$f.part"
    ok=
    for b in $bases; do
        url="${b%/}/$f"
        echo "$prog: fetching $url"
        if fetch "$url" "$part" 2>/dev/null; then
            ok=1
            break
        fi
        echo "$prog: failed: $url" >&2
    done
    if [ -z "$ok" ]; then
        rm -f "$part"
        die 1 "could not download $f from: $bases.
Without network access, set MNIST_URL to a mirror holding the four files (file:// works),
or apt-get install dataset-fashion-mnist (Fashion-MNIST in the same format, which
tg_data_find finds by itself)."
    fi
    got=$(sha256 "$part")
    if [ "$got" != "$want" ]; then
        rm -f "$part"
        die 2 "SHA-256 mismatch for $f from ${url}: got $got, expected $want (file removed)"
    fi
    mv "$part" "$dest/$f"
    echo "$prog: $dest/$f verified"
done
echo "$prog: MNIST is in $dest"
