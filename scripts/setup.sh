#!/usr/bin/env bash
# Installs what building, running (`setup.sh run`) or testing (`setup.sh test`) Upcount
# needs, skipping whatever is already there with one line each. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
purpose="${1:-run}"
cd "$ROOT"

command -v cargo >/dev/null || die "the Rust toolchain (cargo) is required: https://rustup.rs"

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  ok "wasm32-unknown-unknown target already installed"
else
  doing "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

leptos_version=0.3.10
if cargo leptos --version 2>/dev/null | grep -q " $leptos_version"; then
  ok "cargo-leptos $leptos_version already installed"
else
  doing "installing cargo-leptos $leptos_version (about 16 minutes, once)"
  env -u CARGO_TARGET_DIR cargo install "cargo-leptos@$leptos_version" --locked --features no_downloads
fi

bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$bindgen_version" ] || die "no wasm-bindgen in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $bindgen_version" ]; then
  ok "wasm-bindgen CLI $bindgen_version already installed"
else
  doing "installing the wasm-bindgen CLI $bindgen_version (the version in Cargo.lock)"
  # Not --locked: the CLI's lock file pins a yanked crate.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$bindgen_version" --force
fi


if command -v npm >/dev/null; then
  ok "node $(node --version) and npm already installed"
else
  doing "installing Node.js and npm (Debian)"
  apt_install nodejs npm
fi

if command -v psql >/dev/null; then
  ok "PostgreSQL client already installed"
else
  doing "installing the PostgreSQL client (Debian)"
  apt_install postgresql-client
fi

# npm_ci DIR: installs DIR's locked npm packages unless they are already in place.
npm_ci() {
  local dir="$1"
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    ok "npm packages in ${dir#"$ROOT"/}/ already installed"
  else
    doing "installing the npm packages of ${dir#"$ROOT"/}/"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules/.package-lock.json"
  fi
}

# ECharts, served by the site itself from /vendor (no CDN), and binaryen's wasm-opt for
# release builds (on PATH through lib.sh).
npm_ci "$ROOT/assets"
ok "wasm-opt: $(wasm-opt --version | head -n1)"
echarts_version="$(node -p 'require("./assets/node_modules/echarts/package.json").version')"
echarts_file="public/vendor/echarts-$echarts_version.min.js"
if [ -f "$echarts_file.gz" ] && cmp -s "$echarts_file" assets/node_modules/echarts/dist/echarts.min.js; then
  ok "ECharts $echarts_version already in public/vendor/"
else
  doing "copying ECharts $echarts_version into public/vendor/"
  rm -f public/vendor/echarts-*.min.js
  mkdir -p public/vendor
  cp assets/node_modules/echarts/dist/echarts.min.js "$echarts_file"
  # Served as is to browsers that accept gzip, instead of compressing 1 MB per request.
  gzip -9 --keep --force "$echarts_file"
fi
# Swagger UI for the API reference at /docs/api, served from /vendor like ECharts.
swagger_version="$(node -p 'require("./assets/node_modules/swagger-ui-dist/package.json").version')"
swagger_dir="public/vendor/swagger-ui-$swagger_version"
if [ -f "$swagger_dir/swagger-ui-bundle.js.gz" ] && cmp -s "$swagger_dir/swagger-ui-bundle.js" assets/node_modules/swagger-ui-dist/swagger-ui-bundle.js; then
  ok "Swagger UI $swagger_version already in public/vendor/"
else
  doing "copying Swagger UI $swagger_version into public/vendor/"
  rm -rf public/vendor/swagger-ui-*
  mkdir -p "$swagger_dir"
  cp assets/node_modules/swagger-ui-dist/swagger-ui-bundle.js assets/node_modules/swagger-ui-dist/swagger-ui.css "$swagger_dir/"
  gzip -9 --keep --force "$swagger_dir/swagger-ui-bundle.js" "$swagger_dir/swagger-ui.css"
fi

if [ "$purpose" = test ]; then
  # `cargo sqlx prepare --check` keeps the committed query cache (.sqlx/) in step with
  # the queries; the version follows sqlx's own in Cargo.lock.
  sqlx_version="$(awk '/^name = "sqlx"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  [ -n "$sqlx_version" ] || die "no sqlx in Cargo.lock"
  if cargo sqlx --version 2>/dev/null | grep -q " $sqlx_version\$"; then
    ok "sqlx-cli $sqlx_version already installed"
  else
    doing "installing sqlx-cli $sqlx_version (about 3 minutes, once)"
    env -u CARGO_TARGET_DIR cargo install sqlx-cli --version "$sqlx_version" --locked \
      --no-default-features --features postgres,rustls
  fi
  if [ -x /usr/bin/chromium ]; then
    ok "Chromium already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
  else
    doing "installing Debian's Chromium for the browser tests"
    apt_install chromium
  fi
  npm_ci "$ROOT/end2end"
  # The Prometheus server and promtool, which the scrape endpoint's tests run for real.
  if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then
    ok "Prometheus already installed ($(/usr/bin/prometheus --version 2>/dev/null | head -n1))"
  else
    doing "installing Debian's Prometheus (the server and promtool) for the scrape tests"
    apt_install --no-install-recommends prometheus
    # The package starts a system Prometheus on :9090; the tests start their own.
    no_system_service prometheus
  fi

  # The forwarding tests start their own InfluxDB 1.x (`influxd`) and Graphite
  # (`carbon-cache`, checked with `whisper-fetch`) on free ports with temporary folders.
  if command -v influxd >/dev/null && command -v carbon-cache >/dev/null && command -v whisper-fetch >/dev/null; then
    ok "InfluxDB $(influxd version 2>/dev/null | head -n1 | awk '{print $2}') and graphite-carbon already installed"
  else
    doing "installing Debian's InfluxDB 1.x and graphite-carbon for the forwarding tests"
    apt_install influxdb graphite-carbon python3-whisper
  fi
  # Their packages may start system services on the default ports (8086, 8088, 2003,
  # 2004, 7002); the tests need none of them, so none is left running.
  for service in influxdb carbon-cache; do
    no_system_service "$service"
  done
fi
