//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup
//! is a transient scope unit that systemd makes over D-Bus. `dbus.rs` is the
//! D-Bus client.

pub mod dbus;
