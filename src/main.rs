use clap::Parser;

fn main() -> std::process::ExitCode {
    return_freed_memory_promptly();
    let cli = restohub::config::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("restohub: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match runtime.block_on(restohub::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("restohub: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Each password hash takes a 19 MiB buffer. glibc would raise its mmap
/// threshold after the first one and keep later ones on the heap once freed,
/// so a burst of logins would leave the process holding that memory for
/// good. A fixed threshold keeps large buffers in their own mappings, which
/// go back to the system when freed.
///
/// And at most one arena per core (glibc allows eight per core): the intake
/// runtime's threads (`restohub::http::Intake`) would otherwise each get an
/// arena of their own, where what a connection keeps from its intake (its
/// socket's buffers) sits between the intake's short-lived allocations; an
/// idle socket then held about 170 bytes more (measured at 5,000).
fn return_freed_memory_promptly() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only adjusts allocator tuning; called before any
        // other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
