#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a Debian machine, only when missing.
# Works as root (CI) or through sudo; never prompts.
set -euo pipefail

packages=(
  postgresql          # embedded cluster for `faxseal serve` and for tests (initdb, pg_ctl)
  libtesseract-dev    # OCR through gosseract (cgo)
  tesseract-ocr-eng
  poppler-utils       # pdftoppm: PDF -> fax page rasters
  fonts-dejavu-core   # fontconfig substitutes for the PDF base-14 fonts poppler draws
  libspandsp-dev      # interop peer for T.30/T.38 and the G.711 modems (cgo, build tag spandsp)
  sip-tester          # SIPp scenarios
  libtiff-tools       # tiffcp: the codec's bit-exact reference in tests
  libtiff-dev         # cgo benchmark helper for `make bench`
  nodejs              # runs the seed's Node.js webhook-verification snippet in the webhook tests
  pkg-config
  gcc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

go mod download
