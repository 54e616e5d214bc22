//! `shifter`: plan and run progressive rollouts of AWS Lambda aliases.

use std::io::Write;

use clap::Parser;
use shifter_cli::args::{Cli, Command};
use shifter_cli::commands::{abort, analyze, pause, promote, resume};
use shifter_cli::render::Renderer;
use shifter_cli::{deploy, history, list, logging, plan_cmd, status};

fn main() {
    let cli = Cli::parse();
    logging::init();
    let code = match &cli.command {
        Command::Plan(args) => plan_cmd::run(args, &mut std::io::stdout(), &mut std::io::stderr()),
        Command::Deploy(args) => {
            let mut render = Renderer::for_terminal(args.output);
            runtime().block_on(deploy::run(args, &mut render))
        }
        Command::Status(args) => runtime().block_on(status::status(args)),
        Command::Promote(args) => runtime().block_on(promote::run(args)),
        Command::Pause(args) => runtime().block_on(pause::run(args)),
        Command::Resume(args) => runtime().block_on(resume::run(args)),
        Command::Abort(args) => runtime().block_on(abort::run(args)),
        Command::List(args) => runtime().block_on(list::run(args)),
        Command::History(args) => runtime().block_on(history::run(args)),
        Command::Analyze(args) => runtime().block_on(analyze::run(args)),
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(code);
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}
