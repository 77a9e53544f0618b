#!/usr/bin/env bash
# Install the Debian packages the tests and notebooks use, when missing.
#
#   bash scripts/system_deps.sh            # the default list below
#   bash scripts/system_deps.sh PKG...     # just these
#
# Fast when all are present (one dpkg-query per package, no apt-get).
# Otherwise: apt-get update once, then a noninteractive install; tshark's
# "allow non-superusers to capture?" question is preseeded to "no".
# Uses sudo only when not root. Off Debian it warns and does nothing.
set -euo pipefail

DEFAULT_PACKAGES=(
    kamailio kamailio-extra-modules kamailio-tls-modules  # SIP/IP core, MSRP relay
    sip-tester                                            # sipp
    tshark                                                # pcap dissection
    graphviz                                              # ladder diagrams (dot)
    iproute2                                              # ip netns
)

if [ "$#" -gt 0 ]; then
    packages=("$@")
else
    packages=("${DEFAULT_PACKAGES[@]}")
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "system_deps: not a Debian system; install these yourself: ${packages[*]}" >&2
    exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "system_deps: missing ${missing[*]} and neither root nor sudo available" >&2
    exit 1
fi

echo "system_deps: installing ${missing[*]}" >&2
echo "wireshark-common wireshark-common/install-setuid boolean false" \
    | "${as_root[@]}" debconf-set-selections
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}" </dev/null
