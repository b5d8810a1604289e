#!/bin/bash
# Layers: an image is read-only layers; a container adds an upper dir for its changes.
. "$(dirname "$0")/lib.sh"
bundle box
L=$work/layers
mkdir -p "$L"/{app/etc,app/bin,upper,work}
mv "$work/box/rootfs" "$L/base"   # layer 1: busybox
mkdir "$work/box/rootfs"
echo "built into the app layer" > "$L/app/etc/motd"   # layer 2: the application
printf '#!/bin/sh\necho "hello: $(cat /etc/motd)"\n' > "$L/app/bin/hello"
chmod +x "$L/app/bin/hello"

echo "== the image: a base layer of $(find "$L/base" ! -type d | wc -l) files and an app layer:"
(cd "$L/app" && find . ! -type d | sort)

# What an engine's snapshotter does: lower layers (top first) + the container's upper dir.
mount -t overlay overlay -o "lowerdir=$L/app:$L/base,upperdir=$L/upper,workdir=$L/work" "$work/box/rootfs"
export prog='
awk "\$2 == \"/\" { print \"/ is\", \$3 }" /proc/mounts
hello
echo changed in the container > /etc/motd
echo new > /root/notes
rm /bin/vi
hello'
edit box 'c["root"]["readonly"] = False; c["process"]["args"] = ["sh", "-c", os.environ["prog"]]'
echo "== the container changes a file, adds one, deletes one"
hull run --bundle "$work/box" "layers-$$"

echo "== the upper dir holds every change:"
(cd "$L/upper" && find . ! -type d -printf '%M %p\n' | sort -k2)
stat -c '%n: a %F %t:%T, the whiteout of a deleted file' "$L/upper/bin/vi" | sed "s|$L/||"
echo "== the lower layers are untouched:"
cat "$L/app/etc/motd"
(cd "$L/base" && ls -l bin/vi | awk '{ print $1, $(NF-2), $(NF-1), $NF }')

echo "== config.json can mount layers too, below / (here the app layer on /srv)"
bundle srv
mkdir -p "$L"/{upper2,work2}
export L
edit srv '
L = os.environ["L"]
c["mounts"].append({"destination": "/srv", "type": "overlay", "source": "overlay",
                    "options": [f"lowerdir={L}/app", f"upperdir={L}/upper2", f"workdir={L}/work2"]})
c["process"]["args"] = ["sh", "-c", "ls /srv; echo written in /srv > /srv/etc/motd"]'
hull run --bundle "$work/srv" "layers-srv-$$"
(cd "$L/upper2" && find . ! -type d)
cat "$L/upper2/etc/motd" "$L/app/etc/motd"
