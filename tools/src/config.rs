//! What the proxy injects, from its command line.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// The proxy's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0: any free port, written to `port_file`).
    pub listen: SocketAddr,
    /// The server behind the proxy.
    pub upstream: SocketAddr,
    /// Where the listening port is written once bound.
    pub port_file: Option<PathBuf>,
    /// One line per request: `method target status bytes_up bytes_down millis fault`.
    pub log: Option<PathBuf>,
    /// Added before each request reaches the server (half the round trip).
    pub delay_up: Duration,
    /// Added before each response reaches the client (the other half).
    pub delay_down: Duration,
    /// Service time of a read (`GET`, `HEAD`, `PROPFIND`) and of a listing (a `GET` with
    /// `list-type` or a `PROPFIND`), as a cloud drive spends it.
    pub service_read: Duration,
    /// Service time of a write (`PUT`, `POST`, `DELETE`, `MKCOL`, `MOVE`).
    pub service_write: Duration,
    /// Upload rate cap in bytes per second (0: none), shared by all connections.
    pub up_bytes_per_second: u64,
    /// Download rate cap in bytes per second (0: none).
    pub down_bytes_per_second: u64,
    /// Share of requests answered with `throttle_status` and `Retry-After` (0..=1).
    pub throttle_rate: f64,
    /// 429 or 503.
    pub throttle_status: u16,
    /// The `Retry-After` sent with a throttled answer, in seconds.
    pub retry_after_seconds: u64,
    /// Share of `PUT` requests whose connection is reset after half of the body.
    pub reset_put_rate: f64,
    /// Share of `GET` responses that stall after half of the body for `stall`, then close.
    pub stall_get_rate: f64,
    /// How long a stalled response stalls.
    pub stall: Duration,
    /// Faults start after this many requests (so a test can let setup through).
    pub faults_after: u64,
    /// Seed of the fault decisions (a run is repeatable).
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream: SocketAddr::from(([127, 0, 0, 1], 0)),
            port_file: None,
            log: None,
            delay_up: Duration::ZERO,
            delay_down: Duration::ZERO,
            service_read: Duration::ZERO,
            service_write: Duration::ZERO,
            up_bytes_per_second: 0,
            down_bytes_per_second: 0,
            throttle_rate: 0.0,
            throttle_status: 503,
            retry_after_seconds: 1,
            reset_put_rate: 0.0,
            stall_get_rate: 0.0,
            stall: Duration::from_secs(30),
            faults_after: 0,
            seed: 1,
        }
    }
}

/// The `--help` text.
pub const USAGE: &str = "\
faultproxy: an HTTP/1.1 proxy that injects network faults, for Keepsake's tests and benchmarks.

usage: faultproxy --upstream HOST:PORT [options]
  --listen HOST:PORT          where to listen (default 127.0.0.1:0)
  --port-file FILE            write the bound port here
  --log FILE                  one line per request: method target status up down ms fault
  --rtt-ms N                  round trip added per request (half each way)
  --delay-up-ms N, --delay-down-ms N   one-way delays instead
  --service-read-ms N         service time of reads and listings (GET, HEAD, PROPFIND)
  --service-write-ms N        service time of writes (PUT, POST, DELETE, MKCOL, MOVE)
  --up-mbit R, --down-mbit R  rate caps in Mbit/s (decimal), shared by all connections
  --throttle-rate P           share of requests answered 429/503 with Retry-After
  --throttle-status 429|503   (default 503)
  --retry-after S             Retry-After seconds (default 1)
  --reset-put-rate P          share of PUTs reset after half of the body
  --stall-get-rate P          share of GET responses stalled after half of the body
  --stall-ms N                how long a stall lasts before the connection closes (default 30000)
  --faults-after N            let the first N requests through untouched
  --seed N                    fault decisions' seed (default 1)
";

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Config, String> {
    let mut config = Config::default();
    let mut upstream = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let ms = |v: &str| -> Result<Duration, String> {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{flag}: {v:?} is not a number of milliseconds"))
        };
        let share = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| format!("{flag}: {v:?} is not a share between 0 and 1"))
        };
        let mbit = |v: &str| -> Result<u64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .map(|r| (r * 1_000_000.0 / 8.0) as u64)
                .ok_or_else(|| format!("{flag}: {v:?} is not a rate in Mbit/s"))
        };
        let number = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag.as_str() {
            "--listen" => {
                config.listen = value.parse().map_err(|_| format!("--listen {value:?}"))?
            }
            "--upstream" => {
                config.upstream = value.parse().map_err(|_| format!("--upstream {value:?}"))?;
                upstream = true;
            }
            "--port-file" => config.port_file = Some(PathBuf::from(value)),
            "--log" => config.log = Some(PathBuf::from(value)),
            "--rtt-ms" => {
                let rtt = ms(value)?;
                config.delay_up = rtt / 2;
                config.delay_down = rtt - rtt / 2;
            }
            "--delay-up-ms" => config.delay_up = ms(value)?,
            "--delay-down-ms" => config.delay_down = ms(value)?,
            "--service-read-ms" => config.service_read = ms(value)?,
            "--service-write-ms" => config.service_write = ms(value)?,
            "--up-mbit" => config.up_bytes_per_second = mbit(value)?,
            "--down-mbit" => config.down_bytes_per_second = mbit(value)?,
            "--throttle-rate" => config.throttle_rate = share(value)?,
            "--throttle-status" => {
                config.throttle_status = match value {
                    "429" => 429,
                    "503" => 503,
                    _ => return Err("--throttle-status is 429 or 503".into()),
                }
            }
            "--retry-after" => config.retry_after_seconds = number(value)?,
            "--reset-put-rate" => config.reset_put_rate = share(value)?,
            "--stall-get-rate" => config.stall_get_rate = share(value)?,
            "--stall-ms" => config.stall = ms(value)?,
            "--faults-after" => config.faults_after = number(value)?,
            "--seed" => config.seed = number(value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if !upstream {
        return Err("--upstream HOST:PORT is required".into());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_parse_and_mistakes_are_refused() {
        let config = parse(&args(
            "--upstream 127.0.0.1:9000 --rtt-ms 80 --up-mbit 15 --down-mbit 100 \
             --service-read-ms 250 --service-write-ms 650 --throttle-rate 0.1 \
             --throttle-status 429 --retry-after 2 --reset-put-rate 0.5 --seed 7",
        ))
        .unwrap();
        assert_eq!(
            config.delay_up + config.delay_down,
            Duration::from_millis(80)
        );
        assert_eq!(config.up_bytes_per_second, 1_875_000);
        assert_eq!(config.down_bytes_per_second, 12_500_000);
        assert_eq!(config.service_write, Duration::from_millis(650));
        assert_eq!(config.throttle_status, 429);
        assert_eq!(config.seed, 7);
        for bad in [
            "--rtt-ms 80",
            "--upstream nowhere",
            "--upstream 127.0.0.1:1 --throttle-rate 2",
            "--upstream 127.0.0.1:1 --colour blue",
            "--upstream 127.0.0.1:1 --seed",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad}");
        }
    }
}
