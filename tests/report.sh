#!/bin/sh
# report.sh -- the depth study's report in a real browser. Runs examples/depth_study --quick
# (30 steps for each of the 8 nets) on the real digits in $TG_SHARED_DATA/mnist-10k, then
# checks: the files it says it wrote; what the study must show (deep-16's first-layer
# gradients orders of magnitude below its last layer's with the original initialisation,
# not with Glorot's); that index.html references only files that exist beside it, nothing
# remote; and, in headless Chromium (Debian's chromium package, required), that the page
# loads without errors and every <img> it shows is present and decodes (complete, natural
# width > 0): a copy of the page, check.html, gets a script that writes its findings into
# the DOM, which --dump-dom prints.
# One "ok - ..." / "not ok - ..." line per check; the last line is "N passed, M failed".
#
# Run by `make check` from the top build directory; outputs go to $TG_TEST_TMPDIR/report.d
# (kept for inspection). By hand: cd BUILDDIR && TG_SHARED_DATA=... sh SRCDIR/tests/report.sh

bin=${TG_BUILDDIR:-.}/examples/depth_study
tmp=${TG_TEST_TMPDIR:-./tests}/report.d
data=${TG_SHARED_DATA:-../shared/data}/mnist-10k
out=$tmp/study
passed=0
failed=0

ok() { echo "ok - $*"; passed=$((passed + 1)); }
notok() { echo "not ok - $*"; failed=$((failed + 1)); }
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
    what=$1
    shift
    if "$@"; then ok "$what"; else notok "$what"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ $failed -eq 0 ]
    exit
}

if ! { rm -rf "$tmp" && mkdir -p "$tmp"; }; then
    notok "cannot create $tmp"
    finish
fi
browser=
for b in chromium chromium-browser; do
    command -v "$b" >/dev/null 2>&1 && { browser=$b; break; }
done
if [ -z "$browser" ]; then
    notok "chromium is not installed: the report test needs a headless browser" \
          "(Debian: apt-get install chromium; quickstart.sh installs it)"
    finish
fi
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    notok "no MNIST digits at $data (set TG_SHARED_DATA to the folder holding mnist-10k/)"
    finish
fi

# ---- the study in its quick mode ------------------------------------------------------------
if "$bin" --quick --data "$data" --out "$out" >"$tmp/study.out" 2>"$tmp/study.err"; then
    ok "depth_study --quick: exit status 0"
else
    notok "depth_study --quick: exit status $?"
    sed 's/^/#   /' "$tmp/study.err"
    finish
fi
check "it printed where the report is" grep -q "report: $out/index.html" "$tmp/study.out"

runs="wide-2-original wide-2-glorot mid-4-original mid-4-glorot deep-16-original deep-16-glorot
      relu-10-original relu-10-he"
missing=
for r in $runs; do
    for f in diagnosis.json graph.dot graph.svg monitors/loss.csv monitors/gradnorm_layer0.csv \
             monitors/grad_layer0_bias.csv plots/loss.png plots/gradnorm.png \
             plots/grad_layer0_bias.png; do
        [ -s "$out/$r/$f" ] || missing="$missing $r/$f"
    done
    grep -q "$out/$r/:" "$tmp/study.out" || missing="$missing (not printed: $r)"
done
if [ -z "$missing" ]; then ok "every run's files are written and printed"
else notok "missing:$missing"; fi
check "CSV header step,epoch,unit,value" \
    test "$(head -n 1 "$out/deep-16-original/monitors/loss.csv")" = "step,epoch,unit,value"
check "summary.csv has a row per run" test "$(wc -l <"$out/summary.csv")" -eq 9
check "summary.json names the data" grep -q '"data": "MNIST digits' "$out/summary.json"

# deep-16: first/last gradient ratio below 1e-2 (vanishing) with the original init, above
# 0.1 with Glorot's. summary.csv columns: network,init,...,first_to_last_first_epoch (9th).
ratio() { awk -F, -v n="$1" -v i="$2" '$1 == n && $2 == i { print $9 }' "$out/summary.csv"; }
orig=$(ratio deep-16 original)
glorot=$(ratio deep-16 glorot)
check "deep-16 original init: first/last gradient $orig < 1e-2" \
    awk -v r="$orig" 'BEGIN { exit !(r != "" && r + 0 < 1e-2) }'
check "deep-16 Glorot init: first/last gradient $glorot > 0.1" \
    awk -v r="$glorot" 'BEGIN { exit !(r != "" && r + 0 > 0.1) }'
check "deep-16 original init is called vanishing" \
    grep -q '^deep-16,original,.*,vanishing$' "$out/summary.csv"

# ---- the page's references ------------------------------------------------------------------
html=$out/index.html
refs=$(grep -o -E '(src|href)="[^"]*"' "$html" | sed -E 's/^(src|href)="//; s/"$//; s/&amp;/\&/g')
nref=0
bad=
for ref in $refs; do
    case $ref in
    \#*) continue ;;
    *:*|//*) bad="$bad remote:$ref"; continue ;;
    esac
    nref=$((nref + 1))
    [ -e "$out/$ref" ] || bad="$bad $ref"
done
if [ -z "$bad" ] && [ $nref -gt 100 ]; then ok "all $nref local references of index.html exist"
else notok "index.html references ($nref local): missing or remote:$bad"; fi
check "no scripts, no remote styles or fonts" \
    test "$(grep -c -i -E '<script|<link|@import|url\(' "$html")" -eq 0

# ---- the page in headless Chromium ----------------------------------------------------------
nimg=$(grep -o '<img ' "$html" | wc -l)
check="$out/check.html"
{
    cat "$html"
    cat <<'EOF'
<script>
var tgErrors = [];
window.addEventListener('error', function (e) {
    var t = e.target;
    tgErrors.push(t && t.getAttribute ? 'resource:' + (t.getAttribute('src') || t.tagName)
                  : 'script:' + e.message);
}, true);
window.addEventListener('load', function () {
    var imgs = document.images, bad = [], i;
    for (i = 0; i < imgs.length; ++i)
        if (!(imgs[i].complete && imgs[i].naturalWidth > 0))
            bad.push(imgs[i].getAttribute('src'));
    var p = document.createElement('pre');
    p.id = 'tg-result';
    p.textContent = 'TG-RESULT images=' + imgs.length + ' bad=' + bad.length + ' errors=' +
        tgErrors.length + ' ' + bad.concat(tgErrors).join(' ') + ' END';
    document.body.appendChild(p);
});
</script>
EOF
} >"$check"
profile=$(mktemp -d "$tmp/chromium.XXXXXX")
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --virtual-time-budget=20000 --dump-dom "file://$(cd "$out" &&
    pwd)/check.html" >"$tmp/dom.html" 2>"$tmp/chromium.err"
rc=$?
rm -rf "$profile"
result=$(grep -o 'TG-RESULT[^<]*END' "$tmp/dom.html")
if [ -n "$result" ]; then ok "Chromium loaded the page (status $rc)"
else
    notok "Chromium did not report on the page (status $rc; see $tmp/chromium.err)"
    tail -n 5 "$tmp/chromium.err" | sed 's/^/#   /'
fi
echo "# $result"
has() { case $result in *"$1"*) return 0 ;; esac; return 1; }
check "Chromium saw all $nimg images of the page" has "images=$nimg "
check "every image decodes (complete, natural width > 0)" has " bad=0 "
check "no load or script errors" has " errors=0 "
finish
