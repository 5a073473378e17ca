# Shared by scripts/run and scripts/test: make .venv (Python 3.11) and install a requirements file
# when it changed since the last install.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"

venv_ready() {
    local requirements="$1"
    if [ ! -x .venv/bin/python ]; then
        "$PYTHON" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$requirements")"
    local digest
    digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$digest" > "$stamp"
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
}

# Browser tests drive Debian's Chromium with Playwright (Playwright cannot download browsers here).
ensure_chromium() {
    if command -v chromium > /dev/null; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "Installing Chromium for the browser tests (apt-get install chromium)..."
        apt-get update -qq > /dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    else
        echo "Browser tests need Chromium: install it with 'sudo apt-get install chromium'." >&2
        exit 2
    fi
}
