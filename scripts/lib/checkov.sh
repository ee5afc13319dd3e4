# Sourced by scripts/test. `ensure_checkov` installs checkov (the template's security scan, from
# PyPI) at a pinned version into a virtualenv of its own, once per machine: its dependencies pin
# versions that moto's and cfn-lint's would fight over in one environment. It sets NEXUS_CHECKOV.

NEXUS_CHECKOV_VERSION=3.3.30
NEXUS_CHECKOV_VENV=${NEXUS_CHECKOV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/nexus/checkov-$NEXUS_CHECKOV_VERSION}
NEXUS_CHECKOV="$NEXUS_CHECKOV_VENV/bin/checkov"

ensure_checkov() {
  # The installed version from the package's metadata (`checkov --version` takes 4 s to import).
  local installed
  installed=$("$NEXUS_CHECKOV_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true)
  if [ "$installed" = "$NEXUS_CHECKOV_VERSION" ] && [ -x "$NEXUS_CHECKOV" ]; then
    return 0
  fi
  echo "checkov $NEXUS_CHECKOV_VERSION not found; installing it into $NEXUS_CHECKOV_VENV (~1 minute, once)" >&2
  rm -rf "$NEXUS_CHECKOV_VENV"
  python3 -m venv "$NEXUS_CHECKOV_VENV" &&
    "$NEXUS_CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$NEXUS_CHECKOV_VERSION" >&2
}
