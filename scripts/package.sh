#!/bin/bash
# A Debian package of hull, made with dpkg-deb from a hand-written control
# file (no packaging toolchain needed): the static release binary as
# /usr/bin/hull, the man pages, bash/zsh/fish completions, and
# /usr/share/doc/hull (how to point containerd, Docker, podman and CRI-O at
# it).
#
#   scripts/package.sh [OUT_DIR]     (default target/debian; `just package`)
#
# Needs target/release/hull (`just build`) and target/man (`just man`).
# The Maintainer field comes from DEBFULLNAME and DEBEMAIL when set.
# Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/debian}
bin=target/release/hull
man=target/man
[ -x "$bin" ] || { echo "package: no $bin (just build)" >&2; exit 1; }
[ -f "$man/hull.1" ] || { echo "package: no man pages in $man (just man)" >&2; exit 1; }

version=$("$bin" --version | awk 'NR == 1 { print $3 }')
arch=$(dpkg --print-architecture)
pkg=hull_${version}_$arch
stage=$(mktemp -d /tmp/hull-package.XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/$pkg

install -D -m 0755 "$bin" "$root/usr/bin/hull"
for page in "$man"/*.1; do
	install -D -m 0644 "$page" "$root/usr/share/man/man1/$(basename "$page")"
	gzip -9n "$root/usr/share/man/man1/$(basename "$page")"
done
install -D -m 0644 "$man/hull.bash" "$root/usr/share/bash-completion/completions/hull"
install -D -m 0644 "$man/_hull" "$root/usr/share/zsh/vendor-completions/_hull"
install -D -m 0644 "$man/hull.fish" "$root/usr/share/fish/vendor_completions.d/hull.fish"
install -D -m 0644 scripts/package/README.Debian "$root/usr/share/doc/hull/README.Debian"
install -D -m 0644 scripts/package/copyright "$root/usr/share/doc/hull/copyright"
commit=$("$bin" --version | awk '/^commit:/ { print $2 }')
# Who signs the package: Debian's usual variables, else a placeholder.
maintainer="${DEBFULLNAME:-hull developers} <${DEBEMAIL:-hull@localhost}>"
printf 'hull (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
	"$version" "$commit" "$maintainer" "$(date -R)" | gzip -9n >"$root/usr/share/doc/hull/changelog.gz"
# A static-pie binary looks like a shared library to lintian.
install -D -m 0644 scripts/package/lintian-overrides "$root/usr/share/lintian/overrides/hull"

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: hull
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Section: admin
Priority: optional
Suggests: containerd | docker.io | podman
Description: OCI container runtime, a drop-in replacement for runc
 hull turns an OCI bundle (config.json and a root filesystem) into an
 isolated, resource-limited process: namespaces, cgroups v1, v2 and hybrid,
 seccomp, capabilities, hooks. containerd, Docker, podman and CRI-O run it
 in place of runc; /usr/share/doc/hull/README.Debian shows how.
 .
 The binary is statically linked and has no dependencies.
EOF
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$pkg.deb" >/dev/null
echo "$out/$pkg.deb"
