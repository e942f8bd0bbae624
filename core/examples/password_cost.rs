//! Measures what a password slot costs: Argon2id time and peak memory for the default
//! parameters and a few alternatives, each as a ratio to the OWASP minimum (19 MiB, t = 2) run
//! in the same process. Run with
//! `cargo run -p keepsake-core --example password_cost`.

use std::time::Instant;

use keepsake_core::crypto::password::{stretch, PasswordParams};

/// Peak resident memory of this process so far, KiB (Linux only; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Median of three runs, seconds.
fn seconds(params: &PasswordParams) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            stretch(b"correct horse battery staple", &[7; 32], params).expect("argon2id");
            started.elapsed().as_secs_f64()
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

fn main() {
    let baseline = PasswordParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    let candidates = [
        ("OWASP minimum (baseline)", baseline),
        (
            "32 MiB, t=3",
            PasswordParams {
                memory_kib: 32 * 1024,
                iterations: 3,
                parallelism: 1,
            },
        ),
        ("DEFAULT: 64 MiB, t=3", PasswordParams::DEFAULT),
        (
            "128 MiB, t=3",
            PasswordParams {
                memory_kib: 128 * 1024,
                iterations: 3,
                parallelism: 1,
            },
        ),
    ];
    let base = seconds(&baseline);
    println!("Argon2id, p=1, 32-byte output; median of 3 runs; ratio to the baseline");
    for (name, params) in candidates {
        let time = seconds(&params);
        println!(
            "{name:<26} m={:>6} KiB t={} : {:>7.3} s  x{:.2}  peak RSS so far {} KiB",
            params.memory_kib,
            params.iterations,
            time,
            time / base,
            peak_rss_kib()
        );
    }
}
