#!/bin/bash
# Install the built .deb, check it as a user would, and remove it again (run as root, on Linux):
#   bash packaging/linux/test_installed.sh [build/desktop-app_VERSION_amd64.deb]
# 1. install; the launcher, menu entry and icon are in place
# 2. --self-test with networking cut off (a new network namespace with no interfaces)
# 3. every test document format through the installed command line, also offline
# 4. the window under Xvfb: time from launch to the window on screen, and a screenshot
# 5. uninstall: no file of the package is left
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=${1:-$(ls build/desktop-app_*_amd64.deb | tail -1)}
home=$(mktemp -d)
export DESKTOP_APP_HOME=$home

echo "== install $deb ($(du -h "$deb" | cut -f1))"
dpkg -i "$deb" >/dev/null
test -x /usr/bin/desktop-app
test -f /usr/share/applications/desktop-app.desktop
test -f /usr/share/icons/hicolor/512x512/apps/desktop-app.png
command -v desktop-file-validate >/dev/null && desktop-file-validate /usr/share/applications/desktop-app.desktop
desktop-app --version | tee "$home/version.txt"
grep -q "CPU code " "$home/version.txt"  # the portable llama.cpp names the variant it picked

echo "== self-test, no network"
unshare --net -- env DESKTOP_APP_HOME="$home/self-test" desktop-app --self-test

echo "== every format, no network"
docs=$(mktemp -d)
cp tests/data/* "$docs"/ && rm "$docs/NOTICE.md"
unshare --net -- desktop-app add Formats "$docs" --create > /dev/null || true
desktop-app docs Formats --json > "$home/add.json"
python3 - "$home/add.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
for row in rows:
    print(f"  {row['status']:8} {row['path'].rsplit('/', 1)[-1]:28} {row.get('error') or ''}")
bad = [r for r in rows if r["status"] != "indexed" and not r["path"].endswith(("password.pdf",))]
sys.exit(1 if bad else 0)
PY
unshare --net -- desktop-app ask Formats "How many goals did the winners score?" | head -5 || true

echo "== window under Xvfb"
Xvfb :97 -screen 0 1400x900x24 >/dev/null 2>&1 &
xvfb=$!
sleep 1
start=$(date +%s.%N)
DISPLAY=:97 desktop-app >/dev/null 2>&1 &
app=$!
until DISPLAY=:97 xwininfo -root -tree 2>/dev/null | grep -q '"Documents chat'; do
  sleep 0.05
  if ! kill -0 $app 2>/dev/null; then echo "the window never appeared"; exit 1; fi
done
shown=$(date +%s.%N)
echo "window on screen $(python3 -c "print(f'{$shown - $start:.2f}')") s after launch"
sleep 3
DISPLAY=:97 import -window root docs/screenshots/installed-linux.png
kill $app; wait $app 2>/dev/null || true
kill $xvfb

echo "== uninstall"
dpkg -r desktop-app >/dev/null
left=$(ls /opt/desktop-app /usr/bin/desktop-app /usr/share/applications/desktop-app.desktop \
  /usr/share/icons/hicolor/512x512/apps/desktop-app.png 2>/dev/null || true)
[ -z "$left" ] || { echo "left behind: $left"; exit 1; }
echo "removed cleanly"
rm -rf "$home" "$docs"
