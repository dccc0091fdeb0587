# Shared helpers for the scripts behind `make run` and `make test`. Source it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# One target directory shared by every clone on this machine, so CI reuses artifacts.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/upcount/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# binaryen's wasm-opt from npm (assets/package.json) before any other: Debian's version
# 108 emits wasm that today's browsers refuse to instantiate in release builds.
export PATH="$ROOT/assets/node_modules/.bin:$PATH"

say()  { printf '%s\n' "$*"; }
ok()   { printf '✓ %s\n' "$*"; }
doing(){ printf '→ %s\n' "$*"; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs Debian packages: directly as root, through sudo otherwise.
apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "please install the Debian packages: $*"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q "$@" >/tmp/upcount-apt.log 2>&1; then
    "${sudo[@]}" apt-get update -q >>/tmp/upcount-apt.log 2>&1 || true
    "${sudo[@]}" apt-get install -y -q "$@" >>/tmp/upcount-apt.log 2>&1 ||
      die "could not install $* (see /tmp/upcount-apt.log)"
  fi
}

# no_system_service NAME: stops and disables the system service NAME that installing its
# Debian package started (prometheus on :9090…): the tests start their own copies, on
# free ports. Under systemd through systemctl, otherwise through the init script, which
# stops only the service's own process (its pid file).
no_system_service() {
  local name="$1" sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now --quiet "$name.service" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$name" ]; then
    "${sudo[@]}" "/etc/init.d/$name" stop >/dev/null 2>&1 || true
    "${sudo[@]}" update-rc.d "$name" disable >/dev/null 2>&1 || true
  fi
}
