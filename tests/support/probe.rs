//! `hull-probe WHAT`: prints, from inside a container, what busybox cannot
//! show. `mempolicy`: the thread's memory policy as `mode=N nodes=MASK`
//! (get_mempolicy(2)).

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("mempolicy") => {
            let mut mode: libc::c_int = -1;
            let mut mask = [0 as libc::c_ulong; 16];
            // SAFETY: both out-pointers are valid for the sizes given.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_get_mempolicy,
                    &mut mode as *mut libc::c_int,
                    mask.as_mut_ptr(),
                    mask.len() * libc::c_ulong::BITS as usize,
                    std::ptr::null_mut::<libc::c_void>(),
                    0,
                )
            };
            if r != 0 {
                eprintln!("get_mempolicy: {}", std::io::Error::last_os_error());
                std::process::exit(1);
            }
            println!("mode={mode} nodes={:#x}", mask[0]);
        }
        _ => {
            eprintln!("usage: hull-probe mempolicy");
            std::process::exit(2);
        }
    }
}
