#!/bin/bash
# The Debian package, installed for real: `just test-package`.
#
#   scripts/test-package.sh DEB
#
# Installs DEB with apt on this machine (refusing to replace a /usr/bin/hull
# that no hull package owns), checks what it put in place (the binary is the
# build's, man pages, completions, the engines' README), runs the Docker
# suite with `dockerd --add-runtime hull=/usr/bin/hull` (a private dockerd:
# integration/engines/docker.sh), then purges the package and checks that
# nothing of it is left. The package is purged on failure too.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
deb=$(realpath "${1:?usage: scripts/test-package.sh DEB}")
failed=0
pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -q "$@"; }

if [ -e /usr/bin/hull ] && ! dpkg -S /usr/bin/hull 2>/dev/null | grep -q '^hull:'; then
	echo "FAIL setup: /usr/bin/hull exists and is not from the hull package; not replacing it"
	exit 1
fi
installed=""
logs=$(mktemp -d /tmp/hull-test-package.XXXXXX)
cleanup() {
	[ -n "$installed" ] && apt_get purge hull >/dev/null 2>&1
	rm -rf "$logs"
}
trap cleanup EXIT

if ! apt_get install --no-install-recommends "$deb" >"$logs/apt.log" 2>&1; then
	fail install "apt-get install $deb: $(tail -n 3 "$logs/apt.log" | tr '\n' ' ')"
	exit 1
fi
installed=1
pass install

want=$(target/release/hull --version | head -n 2 | tr '\n' ' ')
got=$(/usr/bin/hull --version 2>&1 | head -n 2 | tr '\n' ' ')
if [ "$got" = "$want" ] && file -L /usr/bin/hull | grep -q 'static'; then
	pass binary
else
	fail binary "/usr/bin/hull --version: '$got', the build's: '$want'"
fi

missing=""
for f in /usr/share/man/man1/hull.1.gz /usr/share/man/man1/hull-create.1.gz \
	/usr/share/bash-completion/completions/hull /usr/share/zsh/vendor-completions/_hull \
	/usr/share/fish/vendor_completions.d/hull.fish /usr/share/doc/hull/README.Debian \
	/usr/share/doc/hull/copyright; do
	[ -s "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	fail files "missing:$missing"
elif ! zcat /usr/share/man/man1/hull.1.gz | grep -q '^\.TH hull 1'; then
	fail files "hull.1.gz is not a man page"
elif ! grep -q 'complete .*hull' /usr/share/bash-completion/completions/hull; then
	fail files "the bash completion does not complete hull"
else
	pass files
fi

# Docker with the packaged runtime: `dockerd --add-runtime hull=/usr/bin/hull`.
if integration/engines/docker.sh /usr/bin/hull >"$logs/docker.log" 2>&1; then
	pass "docker ($(grep '^RESULT' "$logs/docker.log"))"
else
	fail docker "$(grep -E '^(FAIL|RESULT)' "$logs/docker.log" | tr '\n' ' ')"
fi

if apt_get purge hull >"$logs/apt.log" 2>&1; then
	installed=""
	left=""
	for f in /usr/bin/hull /usr/share/man/man1/hull.1.gz /usr/share/bash-completion/completions/hull \
		/usr/share/doc/hull; do
		[ -e "$f" ] && left="$left $f"
	done
	if dpkg -s hull >/dev/null 2>&1; then
		fail purge "dpkg still knows the package"
	elif [ -n "$left" ]; then
		fail purge "left behind:$left"
	else
		pass purge
	fi
else
	fail purge "apt-get purge hull: $(tail -n 3 "$logs/apt.log" | tr '\n' ' ')"
fi
echo "RESULT package $(basename "$deb") $(($(stat -c %s "$deb") / 1024)) KiB failed=$failed"
[ "$failed" = 0 ]
