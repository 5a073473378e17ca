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
