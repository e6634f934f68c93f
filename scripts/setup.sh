#!/usr/bin/env bash
# Installs what l2hmc-swift needs on a fresh Debian machine (when missing) and builds it.
#   bash scripts/setup.sh            # debug build (what `swift test` uses)
#   bash scripts/setup.sh release    # a release build instead (what the README's run command uses)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libzip-dev libhdf5-dev libssl-dev libopenmpi-dev openmpi-bin pkg-config unzip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# numpy is used only by the interop tests (never by the product).
if ! python3 -c "import numpy" 2>/dev/null; then
  echo "setup: installing numpy for the interop tests" >&2
  python3 -m pip install --quiet numpy
fi
# h5py is used only by the HDF5Kit interop tests (never by the product).
if ! python3 -c "import h5py" 2>/dev/null; then
  echo "setup: installing h5py for the HDF5 interop tests" >&2
  python3 -m pip install --quiet h5py
fi

# safetensors is used only by the export interop test (never by the product).
if ! python3 -c "import safetensors" 2>/dev/null; then
  echo "setup: installing safetensors for the export interop test" >&2
  python3 -m pip install --quiet safetensors
fi

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "setup: swift not found (need Swift 6.x on PATH)" >&2; exit 1; }

if [ "${1:-}" = "release" ]; then
  swift build -c release
else
  swift build
fi
