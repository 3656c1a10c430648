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
fn return_freed_memory_promptly() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator tuning; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
