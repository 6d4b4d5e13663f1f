#!/bin/sh
# Install the system packages the test-suite and reports need:
#   chromium            headless browser for the offline-map tests (Playwright drives it;
#                       never `playwright install`, which downloads a browser from the internet)
#   fonts-wqy-microhei  a CJK font so Chinese text renders in charts, PDFs and screenshots
#   poppler-utils       pdftotext, used by the PDF tests
#
# Idempotent and never fatal: when the tools are already present it does nothing; when it
# is not root or apt is unavailable it prints a warning and exits 0, so a build never fails
# here. Tests that need chromium then skip with a clear reason.
set -u

PACKAGES="chromium fonts-wqy-microhei poppler-utils"

have_font() {
    # fc-list is part of fontconfig; fall back to looking for the file itself.
    if command -v fc-list >/dev/null 2>&1; then
        fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"
    else
        [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]
    fi
}

# --fonts-only: just what `make demo` needs for Chinese charts and the PDF briefing.
fonts_only=0
[ "${1:-}" = "--fonts-only" ] && fonts_only=1 && PACKAGES="fonts-wqy-microhei"

missing=""
[ "$fonts_only" = 1 ] || [ -x /usr/bin/chromium ] || missing="$missing chromium"
have_font || missing="$missing fonts-wqy-microhei"
[ "$fonts_only" = 1 ] || command -v pdftotext >/dev/null 2>&1 || missing="$missing poppler-utils"

if [ -z "$missing" ]; then
    echo "install-system-deps: all present ($PACKAGES), nothing to do."
    exit 0
fi

echo "install-system-deps: missing:$missing"

if [ "$(id -u)" != "0" ]; then
    echo "install-system-deps: WARNING: not root, skipping. Ask an administrator to run:" >&2
    echo "    apt-get update && apt-get install -y --no-install-recommends $PACKAGES" >&2
    echo "install-system-deps: tests that need these tools will be skipped." >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: WARNING: apt-get not found (not Debian/Ubuntu?), skipping." >&2
    echo "install-system-deps: install$missing with your package manager; tests needing them will be skipped." >&2
    exit 0
fi

# Noninteractive so the script never blocks on a debconf prompt in CI.
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update; then
    echo "install-system-deps: WARNING: apt-get update failed (offline?), skipping." >&2
    exit 0
fi
# shellcheck disable=SC2086  # word splitting of the package list is intended
if ! apt-get install -y --no-install-recommends $missing; then
    echo "install-system-deps: WARNING: apt-get install failed, skipping;" \
         "tests needing$missing will be skipped." >&2
    exit 0
fi
echo "install-system-deps: installed$missing."
exit 0
