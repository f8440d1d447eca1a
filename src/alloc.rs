//! Memory the process gives back: glibc's allocator tuned once, at start.
//!
//! A call that saves a large image decodes it for a preview on a blocking
//! thread, and such buffers come and go by the tens of MiB. By default
//! glibc keeps up to eight arenas per core, one per thread that allocated,
//! and raises its mmap threshold after each large free, so those buffers
//! end up in arenas that keep their pages: the peak resident size under
//! fifty large images at once was about half again what the work needs
//! (`scripts/bench_memory.sh` prints it). Two arenas, and large buffers
//! always mapped (so freeing one returns it at once), keep the process near
//! what it holds. Other platforms' allocators need no tuning here.
//!
//! Even so, glibc keeps the small pieces a burst of requests freed, in
//! arenas and on the heap's top, for the next burst. A service that went
//! quiet gives them back ([`give_back`], once the server is idle).

/// Returns the memory freed since the last time to the system (glibc
/// otherwise keeps it for later); how long it took is the caller's worry:
/// a few milliseconds, so only when the process is idle.
pub(crate) fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases free memory of the allocator's
        // own arenas; it takes their locks like any allocation.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Tunes the allocator; call before any thread starts.
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; it is called
        // before the runtime starts any thread. A refused setting (0) only
        // leaves glibc's default in place.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        }
    }
}
