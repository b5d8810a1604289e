//! `/proc/<pid>/mountinfo`, parsed in one place: the cgroup layout is read
//! from it here, and libcontainer's rootfs finds the mounts a container left
//! on the host with it.

use std::path::PathBuf;

/// One line of mountinfo:
/// `id parent maj:min root mount-point options [optional...] - fstype source super-options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo<'a> {
    pub id: u64,
    pub parent: u64,
    /// The directory of the filesystem mounted here (`/` for a whole one),
    /// as the kernel writes it.
    pub root_raw: &'a str,
    /// As the kernel writes it (octal escapes); see [`MountInfo::mount_point`].
    pub mount_point_raw: &'a str,
    /// The optional fields: propagation (`shared:N`, `master:N`, …), space-separated.
    pub optional: &'a str,
    pub fstype: &'a str,
    pub source: &'a str,
    pub super_options: &'a str,
}

impl MountInfo<'_> {
    pub fn mount_point(&self) -> PathBuf {
        PathBuf::from(unescape(self.mount_point_raw))
    }
}

/// Reads the calling process's mount table.
pub fn read_self() -> std::io::Result<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
}

/// The entries of a mountinfo text, in its order (a mount before those on
/// top of it); malformed lines are skipped.
pub fn parse(text: &str) -> impl Iterator<Item = MountInfo<'_>> {
    text.lines().filter_map(parse_line)
}

fn parse_line(line: &str) -> Option<MountInfo<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let mut l = left.split(' ');
    let id = l.next()?.parse().ok()?;
    let parent = l.next()?.parse().ok()?;
    let root_raw = l.nth(1)?;
    let mount_point_raw = l.next()?;
    // After the mount options come the optional fields, up to " - ".
    let optional = left.splitn(7, ' ').nth(6).unwrap_or("");
    let mut r = right.split(' ');
    let fstype = r.next().unwrap_or("");
    let source = r.next().unwrap_or("");
    let super_options = r.next().unwrap_or("");
    Some(MountInfo { id, parent, root_raw, mount_point_raw, optional, fstype, source, super_options })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn mountinfo_unescape() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn fields_of_a_line() {
        let text =
            "36 25 0:31 / /mnt/a\\040b rw,relatime shared:1 master:2 - tmpfs none rw,size=4k\nnot a mount line\n";
        let all: Vec<MountInfo> = parse(text).collect();
        assert_eq!(all.len(), 1);
        let m = &all[0];
        assert_eq!((m.id, m.parent, m.fstype, m.source, m.super_options), (36, 25, "tmpfs", "none", "rw,size=4k"));
        assert_eq!(m.mount_point(), Path::new("/mnt/a b"));
        assert_eq!((m.root_raw, m.optional), ("/", "shared:1 master:2"));
        let plain: Vec<MountInfo> = parse("1 0 8:1 /sub / rw - ext4 /dev/sda1 rw\n").collect();
        assert_eq!((plain[0].root_raw, plain[0].optional), ("/sub", ""));
    }
}
