#!/usr/bin/env bash
# Vendor pinned front-end libraries from the npm registry into static/vendor/.
#
# Versions are pinned exactly (and checked against the registry's sha512
# integrity) so that re-running this script reproduces the same files.
# To upgrade: resolve the newest version in the range with e.g.
#   npm view 'htmx.org@~2.0.0' version --json
# (when several versions match, npm prints them UNSORTED: take the highest
# semver, not the last line), then
#   npm view htmx.org@X.Y.Z dist.integrity
# then update the two variables for that package below and re-run.
#
# Usage: scripts/vendor.sh        (or: make vendor)
set -euo pipefail

# --- pinned versions (highest match of `npm view PKG@RANGE version`) --------
HTMX_VERSION="2.0.11"        # htmx.org       ~2.0.x
HTMX_INTEGRITY="sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
PICO_VERSION="2.1.1"         # @picocss/pico  ^2
PICO_INTEGRITY="sha512-kIDugA7Ps4U+2BHxiNHmvgPIQDWPDU4IeU6TNRdvXQM1uZX+FibqDQT2xUOnnO2yq/LUHcwnGlu1hvf4KfXnMg=="
VEGA_VERSION="6.4.0"         # vega           ^6
VEGA_INTEGRITY="sha512-rHXCq2LpEWCLMjXBEj7hocY9G0/i5TGYRayGGSj06VTF4+l2IG2Z7oeZKCjWbUh/7hTE/mVhbaOPB72wCElh6g=="
VEGA_LITE_VERSION="6.4.3"    # vega-lite      ~6.4.x
VEGA_LITE_INTEGRITY="sha512-d/7hPjfz560UERaQuTmGgIVfXAe3g2hJWeC+igDeaGohUdEoNrHLXgR/yTOBT8vV/lIuuKnw+0/xWWblkDwkMQ=="
VEGA_EMBED_VERSION="7.3.0"   # vega-embed     ^7
VEGA_EMBED_INTEGRITY="sha512-wQ8s5GaSzqoKgmRfbRolgBrjE2CP7ZKHXqH7NijxMqPjpdWxSs4Dn8tvp9g0giQvh2cK+3p56sxjWWM0wNngGw=="
# axe-core (4.x) is test-only and deliberately NOT vendored into static/.

# name|version|integrity|dest dir (under static/vendor)|source file in package|dest file name
PACKAGES=(
  "htmx.org|${HTMX_VERSION}|${HTMX_INTEGRITY}|htmx|dist/htmx.min.js|htmx.min.js"
  "@picocss/pico|${PICO_VERSION}|${PICO_INTEGRITY}|pico|css/pico.min.css|pico.min.css"
  "vega|${VEGA_VERSION}|${VEGA_INTEGRITY}|vega|build/vega.min.js|vega.min.js"
  "vega-lite|${VEGA_LITE_VERSION}|${VEGA_LITE_INTEGRITY}|vega-lite|build/vega-lite.min.js|vega-lite.min.js"
  "vega-embed|${VEGA_EMBED_VERSION}|${VEGA_EMBED_INTEGRITY}|vega-embed|build/vega-embed.min.js|vega-embed.min.js"
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="${ROOT}/static/vendor"

command -v npm >/dev/null || { echo "vendor.sh: npm is required" >&2; exit 1; }
command -v node >/dev/null || { echo "vendor.sh: node is required" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vendor.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# sha512 SRI string of a file, in npm's "sha512-<base64>" form.
sri() {
  node -e 'const c=require("crypto"),f=require("fs");
    process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

# A field of a package.json.
pkg_field() {
  node -e 'const p=require(process.argv[1]); const v=p[process.argv[2]];
    process.stdout.write(typeof v==="string" ? v : (v && v.type) || "UNKNOWN")' "$1" "$2"
}

mkdir -p "$VENDOR"
ROWS=()

for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version integrity dest src file <<<"$entry"
  echo "vendor.sh: ${name}@${version}"

  work="${TMP}/${dest}"
  mkdir -p "$work"
  tarball="$(cd "$work" && npm pack --silent --loglevel=error "${name}@${version}")"
  tarball="${work}/$(printf '%s\n' "$tarball" | tail -n 1)"
  [[ -f "$tarball" ]] || { echo "vendor.sh: npm pack produced no tarball for ${name}" >&2; exit 1; }

  actual="$(sri "$tarball")"
  if [[ "$actual" != "$integrity" ]]; then
    echo "vendor.sh: integrity mismatch for ${name}@${version}" >&2
    echo "  expected ${integrity}" >&2
    echo "  got      ${actual}" >&2
    exit 1
  fi

  tar -xzf "$tarball" -C "$work"
  pkg="${work}/package"

  got_version="$(pkg_field "${pkg}/package.json" version)"
  [[ "$got_version" == "$version" ]] || { echo "vendor.sh: ${name}: expected ${version}, package.json says ${got_version}" >&2; exit 1; }
  license="$(pkg_field "${pkg}/package.json" license)"

  [[ -s "${pkg}/${src}" ]] || { echo "vendor.sh: ${name}: missing or empty ${src}" >&2; exit 1; }

  licfile=""
  for cand in LICENSE LICENSE.md LICENSE.txt LICENCE LICENCE.md license license.md; do
    if [[ -f "${pkg}/${cand}" ]]; then licfile="${pkg}/${cand}"; break; fi
  done
  [[ -n "$licfile" ]] || { echo "vendor.sh: ${name}: no LICENSE file in package" >&2; exit 1; }

  out="${VENDOR}/${dest}"
  rm -rf "$out"
  mkdir -p "$out"
  cp "${pkg}/${src}" "${out}/${file}"
  cp "$licfile" "${out}/LICENSE"

  ROWS+=("| \`${name}\` | ${version} | ${license} | npm: \`${name}\` | \`${dest}/${file}\` (from \`${src}\`), \`${dest}/LICENSE\` |")
done

{
  echo "# Vendored front-end libraries"
  echo
  echo "Fetched from the npm registry at exactly these versions (tarball sha512 checked); do not edit by hand."
  echo
  echo "| package | version | licence | source | files |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Load order: \`vega.min.js\`, then \`vega-lite.min.js\`, then \`vega-embed.min.js\` (the UMD builds read the \`vega\` / \`vegaLite\` globals)."
  echo "axe-core is test-only and is not vendored here."
  echo
  echo "Regenerate with \`make vendor\` (scripts/vendor.sh)."
} > "${VENDOR}/README.md"

echo "vendor.sh: wrote ${VENDOR}"
