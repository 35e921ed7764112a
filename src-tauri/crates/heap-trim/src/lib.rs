//! Gives the heap that the C allocator keeps after a burst back to the system.
//!
//! glibc's malloc keeps freed memory for reuse: in one arena per thread that allocated
//! (up to 8 per core), and it returns pages to the kernel only from the top of each heap,
//! rarely. A process that peaked — a 10,000-event import, a webview built and destroyed
//! (GTK and WebKit allocate with malloc too) — stays resident at that peak for as long
//! as it runs, although the memory is free. `malloc_trim(0)` walks every arena and
//! `madvise`s every whole free page back: what Bookline calls once its window is gone and
//! after a pass or a transfer that changed appointments, while it waits in the tray.
//!
//! This is the workspace's only `unsafe` (the crate's own lints deny it everywhere else):
//! an FFI call without pointers or preconditions.

// Data from the network, the disk or the user must not panic the app: outside tests a
// failure is an error the caller handles, never `.unwrap()`/`.expect()`.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

/// Returns the allocator's whole free pages to the system; whether any came back. Live
/// allocations are untouched. It locks each arena in turn while it walks it (a few
/// milliseconds for a heap of tens of MiB): call it when the app is quiet, not per
/// request. Elsewhere than Linux with glibc it does nothing and returns `false` (musl,
/// macOS and Windows allocators give memory back by themselves or have no such call).
pub fn release_free_heap() -> bool {
    imp::release_free_heap()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    extern "C" {
        /// glibc, `<malloc.h>`: `int malloc_trim(size_t pad)`.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }

    #[allow(unsafe_code)]
    pub fn release_free_heap() -> bool {
        // SAFETY: malloc_trim takes no pointer, reads or writes no memory of the caller,
        // and is MT-safe (it takes each arena's lock, as malloc and free do). A pad of 0
        // keeps no extra free space at the top of the main heap.
        unsafe { malloc_trim(0) == 1 }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub fn release_free_heap() -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// The process's private resident memory (heap, stacks), in KiB.
    fn anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("RssAnon in /proc/self/status")
    }

    /// 64 MiB in small blocks (below glibc's mmap threshold, so they come from an arena),
    /// one in 64 kept alive so that no free range reaches the top of the heap: free's own
    /// trimming gives nothing back, and the process stays at its peak until the trim.
    #[test]
    fn freed_small_blocks_go_back_to_the_system() {
        const BLOCK: usize = 4096;
        const BLOCKS: usize = 64 * 1024 * 1024 / BLOCK;
        let kept = std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..BLOCKS).map(|i| vec![i as u8; BLOCK]).collect();
            let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(64).map(std::mem::take).collect();
            drop(blocks);
            kept
        })
        .join()
        .expect("the allocating thread");
        let before = anon_kib();
        assert!(release_free_heap(), "malloc_trim gave nothing back");
        let after = anon_kib();
        assert!(
            before - after > 32 * 1024,
            "resident anon memory went from {before} KiB to only {after} KiB"
        );
        // The blocks kept alive are intact.
        assert!(kept
            .iter()
            .enumerate()
            .all(|(i, b)| b.len() == BLOCK && b.iter().all(|&x| x == (i * 64) as u8)));
    }
}
