#!/usr/bin/env bash
# Check the Linux installers made by build.sh: install the .deb into a scratch root (dpkg -x), unpack the
# .tar.gz into a scratch directory, and run the frozen `merchant-terminal --self-test` offscreen from each.
#
#   bash packaging/linux/check.sh [ARTEFACT_DIR]     (default: build/installers)
#
# Also checks the package's control fields, the menu entry and icon, that every bundled library finds
# what it links, and the size ceiling (MAX_UNPACKED_MB, see the README "Building the installers").
set -euo pipefail
cd "$(dirname "$0")/../.."
IN=$(realpath -m "${1:-build/installers}")
NAME=merchant-terminal
MAX_UNPACKED_MB=${MAX_UNPACKED_MB:-400}
SELF_TEST_TIMEOUT=${SELF_TEST_TIMEOUT:-180}

fail() { echo "check: FAILED: $*" >&2; exit 1; }

DEB=$(find "$IN" -maxdepth 1 -name "${NAME}_*.deb" | head -n 1)
TARBALL=$(find "$IN" -maxdepth 1 -name "$NAME-*-linux-*.tar.gz" | head -n 1)
[ -n "$DEB" ] || fail "no ${NAME}_*.deb in $IN (run packaging/linux/build.sh)"
[ -n "$TARBALL" ] || fail "no $NAME-*-linux-*.tar.gz in $IN (run packaging/linux/build.sh)"

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/merchant-terminal-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# The package's metadata.
field() { dpkg-deb --field "$DEB" "$1"; }
[ "$(field Package)" = "$NAME" ] || fail "Package is '$(field Package)'"
[ -n "$(field Version)" ] || fail "no Version"
[ -n "$(field Depends)" ] || fail "no Depends"
echo "check: $(basename "$DEB"): $(field Package) $(field Version) $(field Architecture)"

self_test() {  # self_test LABEL EXECUTABLE: the frozen self-test, offscreen, in its own data directory
    local label=$1 exe=$2 data=$SCRATCH/data-$1 out=$SCRATCH/self-test-$1.log status=0
    [ -x "$exe" ] || fail "$label: $exe is not an executable"
    local version
    version=$("$exe" --version) || fail "$label: --version failed"
    [ "$version" = "$(field Version)" ] || fail "$label: --version says '$version', the package '$(field Version)'"
    local start=$SECONDS
    env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen \
        timeout "$SELF_TEST_TIMEOUT" "$exe" --self-test --data-dir "$data" >"$out" 2>&1 || status=$?
    if [ "$status" -ne 0 ] || ! grep -q "self-test: OK" "$out"; then
        cat "$out" >&2
        fail "$label: --self-test exited $status"
    fi
    # The self-test opened a database: the migrations were found in the bundle.
    [ -s "$data/terminal.db" ] || fail "$label: no database was written in $data"
    echo "check: $label: self-test OK in $((SECONDS - start))s ($(grep -c . "$out") lines of output)"
}

libraries_resolve() {  # every bundled ELF finds the libraries it links (wayland's are optional: Recommends)
    local dir=$1 missing
    missing=$(find "$dir" -type f \( -name '*.so*' -o -name "$NAME" -o -name QtWebEngineProcess \) \
        -exec ldd {} + 2>/dev/null | grep "not found" | grep -v -E "libwayland-(cursor|egl)" | sort -u || true)
    [ -z "$missing" ] || fail "libraries not found on this system: $missing"
}

# 1. The .deb, installed into a scratch root.
ROOT_DIR=$SCRATCH/root
dpkg -x "$DEB" "$ROOT_DIR"
[ -L "$ROOT_DIR/usr/bin/$NAME" ] || fail "/usr/bin/$NAME is not a link"
[ "$(readlink "$ROOT_DIR/usr/bin/$NAME")" = "../../opt/$NAME/$NAME" ] || fail "/usr/bin/$NAME points elsewhere"
DESKTOP=$ROOT_DIR/usr/share/applications/$NAME.desktop
grep -q "^Exec=$NAME" "$DESKTOP" || fail "the .desktop file does not run $NAME"
grep -q "^Icon=$NAME$" "$DESKTOP" || fail "the .desktop file names no icon"
ICON=$ROOT_DIR/usr/share/icons/hicolor/256x256/apps/$NAME.png
[ "$(head -c 8 "$ICON" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "the icon is not a PNG"
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$DESKTOP"; fi
libraries_resolve "$ROOT_DIR/opt/$NAME"
self_test deb "$ROOT_DIR/usr/bin/$NAME"

# 2. The portable .tar.gz, unpacked into a scratch directory.
PORTABLE=$SCRATCH/portable
mkdir -p "$PORTABLE"
tar -C "$PORTABLE" -xzf "$TARBALL"
self_test tar.gz "$PORTABLE/$NAME/$NAME"

# 3. Sizes.
UNPACKED_MB=$(( $(du -sb "$ROOT_DIR/opt/$NAME" | cut -f1) / 1000000 ))
echo "check: unpacked ${UNPACKED_MB} MB; .deb $(( $(stat -c %s "$DEB") / 1000000 )) MB;" \
    ".tar.gz $(( $(stat -c %s "$TARBALL") / 1000000 )) MB"
[ "$UNPACKED_MB" -le "$MAX_UNPACKED_MB" ] || fail "unpacked build is ${UNPACKED_MB} MB, over ${MAX_UNPACKED_MB} MB"
echo "check: OK"
