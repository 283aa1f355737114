#!/bin/bash
# macOS: the .app bundle (from the spec's BUNDLE step) in a drag-to-Applications .dmg.
#   python3 packaging/build.py && bash packaging/macos/make_dmg.sh [SIGNING_IDENTITY]
# With a Developer ID identity it signs the app with the hardened runtime (entitlements below)
# and the .dmg; notarize afterwards with `xcrun notarytool submit build/*.dmg --wait` and
# `xcrun stapler staple`. Without one it leaves both unsigned (ad-hoc signatures only).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(python3 -c 'import re;print(re.search(r"__version__ = \"(.+)\"", open("desktop_app/__init__.py").read())[1])')
app="build/dist/Desktop App.app"
[ -d "$app" ] || { echo "no $app: run python3 packaging/build.py first"; exit 1; }
identity=${1:-}
if [ -n "$identity" ]; then
  codesign --force --deep --timestamp --options runtime \
    --entitlements packaging/macos/entitlements.plist --sign "$identity" "$app"
fi
stage=$(mktemp -d)
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="build/desktop-app-$version.dmg"
rm -f "$dmg"
hdiutil create -volname "Desktop App" -srcfolder "$stage" -fs HFS+ -format UDZO "$dmg"
[ -n "$identity" ] && codesign --timestamp --sign "$identity" "$dmg"
rm -rf "$stage"
echo "$dmg: $(du -h "$dmg" | cut -f1)"
