#!/usr/bin/env bash
# Build the macOS installer: the PyInstaller .app (BUNDLE in the spec), signed, in a .dmg.
#
#   bash packaging/macos/build.sh [OUT_DIR]            (default OUT_DIR: build/installers)
#
# The same steps as packaging/linux/build.sh. Signing: with MACOS_SIGN_IDENTITY set (a "Developer ID
# Application: ..." identity in the keychain, from the workflow's secrets) the app is signed inside out
# with the hardened runtime and packaging/macos/entitlements.plist, which QtWebEngine needs (JIT for V8,
# unsigned executable memory, library validation off for the helper process); with APPLE_ID,
# APPLE_TEAM_ID and APPLE_APP_PASSWORD also set, the .dmg is notarised and stapled. Without an identity
# the app is signed ad hoc (runs on the machine that built it, and on Apple silicon at all) and that is said.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
OUT=${1:-build/installers}
WORK=$ROOT/build/pyinstaller
APP_NAME="Merchant Terminal"
ENTITLEMENTS=$ROOT/packaging/macos/entitlements.plist

step() { printf '\nbuild: %s (%ss)\n' "$1" "$SECONDS"; }

VERSION=$("$PYTHON" -c 'from importlib.metadata import version; print(version("merchant-terminal"))')
step "merchant-terminal $VERSION for macOS $(uname -m)"
"$PYTHON" packaging/make_icon.py packaging/build

step "PyInstaller .app"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" packaging/merchant-terminal.spec
APP=$WORK/dist/$APP_NAME.app
test -x "$APP/Contents/MacOS/merchant-terminal"

step "code signing"
if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    sign() { codesign --force --timestamp --options runtime --sign "$MACOS_SIGN_IDENTITY" "$@"; }
    # Inside out: every library, then the frameworks, then QtWebEngine's helper app, then the app.
    find "$APP/Contents" -type f \( -name '*.so' -o -name '*.dylib' \) -print0 | xargs -0 -n 50 \
        codesign --force --timestamp --options runtime --sign "$MACOS_SIGN_IDENTITY"
    find "$APP/Contents" -type d -name '*.framework' -prune -print0 | while IFS= read -r -d '' fw; do
        helper=$(find "$fw" -type d -name 'QtWebEngineProcess.app' | head -n 1)
        [ -z "$helper" ] || sign --entitlements "$ENTITLEMENTS" "$helper"
        sign "$fw"
    done
    sign --entitlements "$ENTITLEMENTS" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
else
    echo "build: MACOS_SIGN_IDENTITY is not set: signing ad hoc (not for distribution)"
    codesign --force --deep --sign - "$APP"
fi

step "disk image"
mkdir -p "$OUT"
STAGE=$WORK/dmg
rm -rf "$STAGE" && mkdir -p "$STAGE"
ditto "$APP" "$STAGE/$APP_NAME.app"
ln -s /Applications "$STAGE/Applications"
DMG=$OUT/merchant-terminal-$VERSION-macos-$(uname -m).dmg
rm -f "$DMG"
hdiutil create -volname "$APP_NAME $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$DMG"
    if [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
        xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
            --password "$APPLE_APP_PASSWORD" --wait
        xcrun stapler staple "$DMG"
    fi
fi

step "done"
{
    echo "version=$VERSION"
    echo "unpacked_bytes=$(du -sk "$APP" | awk '{print $1 * 1024}')"
    echo "dmg_bytes=$(stat -f %z "$DMG")"
} | tee "$OUT/sizes-macos.txt"
