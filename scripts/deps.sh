#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package agentguard's build, demo and tests need.
# Idempotent and quick when everything is present: it only calls apt-get when a package is missing.
# Guest kernels are not installed here: vm/fetch-kernel downloads and extracts them under build/.
set -euo pipefail

pkgs=(
	make gcc pkg-config clang llvm
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libseccomp-dev libcjson-dev libnftnl-dev libmnl-dev libyaml-dev libsystemd-dev libcmocka-dev
	qemu-system-x86 busybox-static cpio xz-utils
	nftables iproute2 python3 python3-jsonschema python3-yaml
	dnsmasq-base
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]}; run this script as root (or with sudo)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --bench (make bench): the macro workload's fixed source tarball, the Python 3.11 standard
# library (about 1,800 files, 8 MiB) as Debian packages it, kept under build/.
if [ "${1:-}" = --bench ]; then
	top=$(cd "$(dirname "$0")/.." && pwd)
	tar=$top/build/bench/macro.tar
	if [ ! -f "$tar" ]; then
		mkdir -p "$top/build/apt/debs" "$top/build/bench"
		(cd "$top/build/apt/debs" && apt-get -o APT::Sandbox::User=root download -q \
			libpython3.11-stdlib >/dev/null)
		deb=$(ls -t "$top"/build/apt/debs/libpython3.11-stdlib_*.deb | head -n1)
		dpkg-deb --fsys-tarfile "$deb" >"$tar.tmp"
		mv "$tar.tmp" "$tar"
		basename "$deb" >"$top/build/bench/macro.source"
	fi
fi
