# oci_layout_tar NAME ROOTFS_DIR CONFIG DIR: an OCI image layout made by hand
# in DIR and packed into DIR.tar, for `ctr image import` (no registry here).
# The uncompressed rootfs tarball is the one layer, so its digest is also its
# diff_id; a config, a manifest and an index naming the image NAME:latest.
# CONFIG is the image config's "config" object. Returns non-zero if tar fails.
# Sourced by engines/lib.sh on the host and by the systemd VM's suite.
# shellcheck shell=bash
oci_layout_tar() {
	local name=$1 rootfs=$2 config=$3 dir=$4 layer cfg manifest
	local blobs=$dir/blobs/sha256
	mkdir -p "$blobs"
	oci_blob() { # FILE: moved into blobs/, prints "digest size"
		local digest size
		digest=$(sha256sum "$1" | cut -d' ' -f1)
		size=$(stat -c %s "$1")
		mv "$1" "$blobs/$digest"
		echo "$digest $size"
	}
	tar -C "$rootfs" -cf "$dir/layer.tar" . || return 1
	read -r -a layer < <(oci_blob "$dir/layer.tar")
	printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$config" "${layer[0]}" >"$dir/config.json"
	read -r -a cfg < <(oci_blob "$dir/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"${cfg[0]}" "${cfg[1]}" "${layer[0]}" "${layer[1]}" >"$dir/manifest.json"
	read -r -a manifest < <(oci_blob "$dir/manifest.json")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
		"${manifest[0]}" "${manifest[1]}" "$name" >"$dir/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	tar -C "$dir" -cf "$dir.tar" .
}
