#!/usr/bin/env bash
# Build the Linux installers: the PyInstaller one-folder build, then a .deb and a portable .tar.gz.
#
#   bash packaging/linux/build.sh [OUT_DIR]        (default OUT_DIR: build/installers)
#
# Needs: the terminal installed with the packaging extra (pip install -e '.[packaging]'), dpkg-deb.
# PYTHON picks the interpreter (default .venv/bin/python). Then check them with packaging/linux/check.sh.
# The GitHub workflow (.github/workflows/installers.yml) runs the same steps on Windows and macOS.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
OUT=$(realpath -m "${1:-build/installers}")
WORK=$ROOT/build/pyinstaller
NAME=merchant-terminal

step() { printf '\nbuild: %s (%ss)\n' "$1" "$SECONDS"; }

# 1. Version from the package metadata, the same one the frozen app reports with --version.
VERSION=$("$PYTHON" -c 'from importlib.metadata import version; print(version("merchant-terminal"))')
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
step "merchant-terminal $VERSION for $ARCH"

# 2. Icon (drawn with Qt: no image tools needed).
"$PYTHON" packaging/make_icon.py packaging/build

# 3. The one-folder build.
step "PyInstaller one-folder build"
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" packaging/merchant-terminal.spec
APP=$WORK/dist/$NAME
test -x "$APP/$NAME"
rm -rf "$OUT" && mkdir -p "$OUT"

# 4. The .deb: /opt/merchant-terminal, a relative /usr/bin link (so it also works inside a scratch root),
#    the menu entry and the icon. Depends: the system libraries Qt and QtWebEngine load (they are not
#    bundled, see packaging/bundle_filter.py); "x | xt64" for Debian/Ubuntu's 64-bit time_t renames.
step "Debian package"
DEB_ROOT=$WORK/deb
rm -rf "$DEB_ROOT"
mkdir -p "$DEB_ROOT/DEBIAN" "$DEB_ROOT/opt" "$DEB_ROOT/usr/bin" "$DEB_ROOT/usr/share/applications" \
    "$DEB_ROOT/usr/share/icons/hicolor/256x256/apps"
cp -a "$APP" "$DEB_ROOT/opt/$NAME"
ln -s "../../opt/$NAME/$NAME" "$DEB_ROOT/usr/bin/$NAME"
install -m 0644 packaging/linux/$NAME.desktop "$DEB_ROOT/usr/share/applications/$NAME.desktop"
install -m 0644 packaging/build/$NAME.png "$DEB_ROOT/usr/share/icons/hicolor/256x256/apps/$NAME.png"
DEPENDS=(
    "libc6 (>= 2.34)" "libstdc++6" "libgcc-s1" "zlib1g"
    "libglib2.0-0 | libglib2.0-0t64" "libdbus-1-3" "libfontconfig1" "libfreetype6"
    "libx11-6" "libx11-xcb1" "libxcb1" "libxext6" "libxfixes3" "libxrender1" "libxrandr2" "libxcomposite1"
    "libxdamage1" "libxtst6" "libxkbfile1" "libxkbcommon0" "libxkbcommon-x11-0" "libxcb-cursor0"
    "libxcb-icccm4" "libxcb-image0" "libxcb-keysyms1" "libxcb-randr0" "libxcb-render-util0"
    "libxcb-render0" "libxcb-shape0" "libxcb-shm0" "libxcb-sync1" "libxcb-xfixes0" "libxcb-xkb1"
    "libxcb-glx0" "libxcb-util1" "libegl1" "libgl1" "libgbm1" "libdrm2"
    "libnss3" "libnspr4" "libasound2 | libasound2t64" "libgssapi-krb5-2" "libwayland-client0"
)
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$DEB_ROOT" | cut -f1)
{
    echo "Package: $NAME"
    echo "Version: $VERSION"
    echo "Architecture: $ARCH"
    echo "Maintainer: Merchant Terminal maintainers <terminal@merchantterminal.invalid>"
    echo "Installed-Size: $INSTALLED_KB"
    echo "Depends: $(IFS=,; echo "${DEPENDS[*]}" | sed 's/,/, /g')"
    echo "Recommends: libwayland-cursor0, libwayland-egl1, gnome-keyring | kwalletmanager"
    echo "Section: misc"
    echo "Priority: optional"
    echo "Homepage: https://merchantterminal.invalid/"
    echo "Description: desktop payment terminal for MOTO card payments and the back office"
    echo " Merchant Terminal takes card payments over the phone and by mail through the"
    echo " gateway's own card page, captures pre-authorisations, voids and refunds, and"
    echo " keeps a local journal. Opens in SANDBOX mode against built-in simulators."
} >"$DEB_ROOT/DEBIAN/control"
DEB=$OUT/${NAME}_${VERSION}_${ARCH}.deb
# zstd -9: 20 s and 140 MB here; xz (the default) takes over 6 minutes on 2 cores for 118 MB.
dpkg-deb --build --root-owner-group -Zzstd -z9 "$DEB_ROOT" "$DEB" >/dev/null

# 5. The portable .tar.gz: the folder itself, with the menu entry and icon beside the executable.
step "portable tar.gz"
cp packaging/linux/$NAME.desktop packaging/build/$NAME.png "$APP/"
TARBALL=$OUT/$NAME-$VERSION-linux-$(uname -m).tar.gz
tar -C "$WORK/dist" --owner=0 --group=0 -czf "$TARBALL" "$NAME"

# 6. Sizes, for the README.
step "done"
{
    echo "version=$VERSION"
    echo "unpacked_bytes=$(du -sb "$APP" | cut -f1)"
    echo "deb_bytes=$(stat -c %s "$DEB")"
    echo "tar_gz_bytes=$(stat -c %s "$TARBALL")"
    echo "build_seconds=$SECONDS"
} | tee "$OUT/sizes.txt"
ls -l "$OUT"
