#!/bin/sh
# examples.sh -- run every example in its short mode and check what it prints and writes:
# exit status 0, each file it claims to write exists and is non-empty (DOT parsed back by
# `dot -Tsvg` when Graphviz's command is installed), every gradient check printed "passed",
# the printed loss fell in every training run. One "ok - ..." / "not ok - ..." line per check;
# the last line counts examples: "5 passed, 0 failed". Exit status 1 if any check failed.
#
# Run by `make check` from the top build directory (examples are ./examples/NAME there);
# outputs go to $TG_TEST_TMPDIR/examples.d (the build tree's tests/tmp), kept for inspection.
# By hand: cd BUILDDIR && TG_TEST_TMPDIR=/tmp sh SRCDIR/tests/examples.sh

bin=${TG_BUILDDIR:-.}/examples
tmp=${TG_TEST_TMPDIR:-./tests}/examples.d
mnist=${TG_SHARED_DATA:-}/mnist-10k
steps=200
passed=0
failed=0

if ! { rm -rf "$tmp" && mkdir -p "$tmp"; }; then
    echo "not ok - cannot create $tmp"
    exit 1
fi

ok() { echo "ok - $name: $*"; }
notok() { echo "not ok - $name: $*"; bad=1; }
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
    what=$1
    shift
    if "$@"; then ok "$what"; else notok "$what"; fi
}

# begin NAME: a new example
begin() {
    name=$1
    bad=0
}

# run TAG ARGS...: run the example; its output goes to $tmp/NAME.TAG.out (then $cur) and .err
run() {
    tag=$1
    shift
    "$bin/$name" "$@" >"$tmp/$name.$tag.out" 2>"$tmp/$name.$tag.err"
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$tag: exit status 0 ($name${*:+ $*})"
    else
        notok "$tag: exit status $rc ($name${*:+ $*})"
        sed 's/^/#   /' "$tmp/$name.$tag.err"
    fi
    cur=$tmp/$name.$tag.out
}

# finish: count the example as passed or failed
finish() {
    if [ $bad -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

nonempty() { [ -s "$1" ]; }
has_prefix() { # has_prefix FILE TEXT: the file starts with TEXT
    [ "$(head -c ${#2} "$1" 2>/dev/null)" = "$2" ]
}
dot_parses() { # Graphviz's own parser reads the file back (skipped without the command)
    if command -v dot >/dev/null 2>&1; then
        dot -Tsvg "$1" -o "$1.check.svg" 2>"$1.check.err" && [ -s "$1.check.svg" ]
    else
        echo "# dot not installed: DOT syntax of $1 not checked"
    fi
}
files() { # files DIR NAME...: each DIR/NAME exists and is non-empty
    d=$1
    shift
    for f in "$@"; do
        check "wrote $f ($(wc -c <"$d/$f" 2>/dev/null || echo 0) bytes)" nonempty "$d/$f"
    done
}

# gradchecks N: the current run printed N gradient checks ("max abs err") and all passed
gradchecks() {
    total=$(grep -c 'max abs err' "$cur")
    good=$(grep 'max abs err' "$cur" | grep -c ': passed$')
    if [ "$total" -eq "$1" ] && [ "$good" -eq "$total" ]; then
        ok "$good of $total gradient checks passed"
        grep 'max abs err' "$cur" | sed 's/^/#   /'
    else
        notok "gradient checks: $good of $total passed, expected $1"
    fi
}

# loss_fell N: the current run has N training runs (runs of "step S loss L" lines), and in
# each the last printed loss is below the first
loss_fell() {
    res=$(awk -v want="$1" '
        $1 == "step" && $3 == "loss" {
            if (!inrun) { n++; first[n] = $4; inrun = 1 }
            last[n] = $4; lines[n]++; next
        }
        { inrun = 0 }
        END {
            bad = n != want
            for (i = 1; i <= n; i++) {
                printf "%s%.4g -> %.4g", (i > 1 ? ", " : ""), first[i], last[i]
                if (lines[i] < 2 || !(last[i] + 0 < first[i] + 0)) bad = 1
            }
            printf " (%d run%s)\n", n, n == 1 ? "" : "s"
            exit bad
        }' "$cur")
    if [ $? -eq 0 ]; then ok "loss fell: $res"
    else notok "loss did not fall in $1 runs: $res"; fi
}

# accuracy MIN: every "accuracy" number printed by the current run is in [MIN, 1]
accuracy() {
    res=$(awk -v min="$1" '
        /accuracy/ {
            for (i = 1; i <= NF; i++) {
                v = $i; sub(/[,(].*$/, "", v)
                if (v ~ /^[0-9]+\.[0-9]+$/) { n++; s = s " " v; if (v < min || v > 1) bad = 1 }
            }
        }
        END { print s; exit bad || !n }' "$cur")
    if [ $? -eq 0 ]; then ok "accuracy in [$1, 1]:$res"
    else notok "accuracy not in [$1, 1]:$res"; fi
}

# ---- graph_viz OUTDIR: a two-layer classifier's tape as DOT, SVG and PNG --------------------
begin graph_viz
mkdir -p "$tmp/graph_viz"
run run "$tmp/graph_viz"
files "$tmp/graph_viz" graph.dot graph.svg graph.png
check "graph.dot parses (dot -Tsvg)" dot_parses "$tmp/graph_viz/graph.dot"
check "graph.svg is SVG" grep -q '<svg' "$tmp/graph_viz/graph.svg"
check "graph.png is PNG" has_prefix "$tmp/graph_viz/graph.png" "$(printf '\211PNG')"
check "printed the loss" grep -q '^loss [0-9]' "$cur"
finish

# ---- custom_op: swish, a user op, gradient-checked alone and in a graph --------------------
begin custom_op
run run
gradchecks 2
finish

# ---- compose_ops OUTDIR --steps N: an MLP from raw ops, SGD by hand, exported --------------
begin compose_ops
run run "$tmp/compose_ops" --steps $steps
files "$tmp/compose_ops" compose_ops.dot compose_ops.svg compose_ops.tgp
check "compose_ops.dot parses (dot -Tsvg)" dot_parses "$tmp/compose_ops/compose_ops.dot"
check "compose_ops.tgp starts with TGPARAMS" has_prefix "$tmp/compose_ops/compose_ops.tgp" \
    TGPARAMS
loss_fell 1
accuracy 0.4
check "reloaded the parameters" grep -q '^reloaded .*compose_ops.tgp: test accuracy' "$cur"
finish

# ---- custom_activation --steps N [--data DIR]: mish, checked, in layer specs, trained ------
begin custom_activation
run rings --steps $steps
gradchecks 2
loss_fell 1
accuracy 0.5
if [ -f "$mnist/train-images-idx3-ubyte.gz" ]; then
    run mnist --steps 100 --data "$mnist"
    gradchecks 2
    loss_fell 1
    accuracy 0.5
else
    echo "# no MNIST digits at $mnist: the --data run is skipped"
fi
finish

# ---- custom_loss --steps N: multiclass hinge (an op) and focal (composed), trained ---------
begin custom_loss
run run --steps $steps
gradchecks 2
loss_fell 3
accuracy 0.5
finish

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
