use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = restohub::config::Cli::parse();
    match restohub::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("restohub: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
