#!/usr/bin/env bash
# What the tests need from the machine: Debian's Chromium, Firefox ESR and WebKitGTK (its
# WebDriver and MiniBrowser, with Xvfb as its display: MiniBrowser has no headless mode); no test
# tool may download a browser of its own. Debian's redis-server and Debian's coturn (the tests
# start their own redis-server and turnserver on free ports and stop them afterwards).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v turnserver >/dev/null || missing+=(coturn)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages for the tests: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "The tests need these Debian packages: ${missing[*]} (apt-get install ${missing[*]})." >&2
exit 1
