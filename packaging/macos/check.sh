#!/usr/bin/env bash
# Check the macOS .dmg made by build.sh: attach it, copy the .app into a scratch directory (as a user
# drags it to Applications), and run the frozen `--self-test` offscreen, as packaging/linux/check.sh does.
#
#   bash packaging/macos/check.sh [ARTEFACT_DIR]       (default: build/installers)
set -euo pipefail
cd "$(dirname "$0")/../.."
IN=${1:-build/installers}
DMG=$(find "$IN" -maxdepth 1 -name 'merchant-terminal-*-macos-*.dmg' | head -n 1)
[ -n "$DMG" ] || { echo "check: FAILED: no .dmg in $IN" >&2; exit 1; }
SCRATCH=$(mktemp -d)
MOUNT=$SCRATCH/mount
trap 'hdiutil detach -quiet "$MOUNT" 2>/dev/null || true; rm -rf "$SCRATCH"' EXIT
hdiutil attach -nobrowse -readonly -mountpoint "$MOUNT" "$DMG" >/dev/null
ditto "$MOUNT/Merchant Terminal.app" "$SCRATCH/Applications/Merchant Terminal.app"
hdiutil detach -quiet "$MOUNT"
codesign --verify --deep --strict "$SCRATCH/Applications/Merchant Terminal.app"
EXE="$SCRATCH/Applications/Merchant Terminal.app/Contents/MacOS/merchant-terminal"
"$EXE" --version
QT_QPA_PLATFORM=offscreen "$EXE" --self-test --data-dir "$SCRATCH/data" | tee "$SCRATCH/self-test.log"
grep -q "self-test: OK" "$SCRATCH/self-test.log"
[ -s "$SCRATCH/data/terminal.db" ] || { echo "check: FAILED: no database written" >&2; exit 1; }
echo "check: dmg: self-test OK; .app $(du -sh "$SCRATCH/Applications/Merchant Terminal.app" | cut -f1)," \
    ".dmg $(du -h "$DMG" | cut -f1)"
