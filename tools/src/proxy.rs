//! The proxy: one thread per client connection, one upstream connection per client
//! connection, HTTP/1.1 requests forwarded one at a time (keep-alive, `Content-Length` and
//! chunked bodies), with the configured delays, service times, rate caps and faults.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use crate::{config::Config, shaping::Limiter};

/// Shared by every connection.
struct Shared {
    config: Config,
    up: Limiter,
    down: Limiter,
    requests: AtomicU64,
    rng: Mutex<u64>,
    log: Mutex<Option<File>>,
}

impl Shared {
    /// A uniform draw in [0, 1) from the seeded generator (xorshift64*).
    fn draw(&self) -> f64 {
        let mut state = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn log(&self, line: &str) {
        if let Some(file) = self.log.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// Binds the listener; returns it with its address.
pub fn bind(config: &Config) -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(config.listen)?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serves connections until the process ends.
pub fn serve(listener: TcpListener, config: Config) -> io::Result<()> {
    let log = match &config.log {
        Some(path) => Some(File::create(path)?),
        None => None,
    };
    let shared = Arc::new(Shared {
        up: Limiter::new(config.up_bytes_per_second),
        down: Limiter::new(config.down_bytes_per_second),
        requests: AtomicU64::new(0),
        rng: Mutex::new(config.seed.max(1)),
        log: Mutex::new(log),
        config,
    });
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let shared = shared.clone();
        thread::spawn(move || {
            let _ = connection(client, &shared);
        });
    }
    Ok(())
}

/// A request or response head: its raw bytes and what framing its body has.
struct Head {
    raw: Vec<u8>,
    first_line: String,
    content_length: Option<u64>,
    chunked: bool,
    close: bool,
}

/// Reads a head (up to the empty line); None at a clean end of the stream.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut first_line = String::new();
    let (mut content_length, mut chunked, mut close) = (None, false, false);
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut head"))
            };
        }
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line).trim_end().to_owned();
        if first_line.is_empty() {
            first_line = text;
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            match name.as_str() {
                "content-length" => content_length = value.parse().ok(),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    Ok(Some(Head {
        raw,
        first_line,
        content_length,
        chunked,
        close,
    }))
}

/// Where a body copy stops early.
#[derive(Clone, Copy)]
enum Cut {
    None,
    /// After this many bytes.
    After(u64),
}

/// Copies a body framed as `head` says, through `limiter`; stops after `cut` bytes (returns
/// Ok(None)) or at its end (Ok(Some(bytes))). `until_close`: a response without framing runs
/// to the end of the stream.
fn copy_body(
    from: &mut impl BufRead,
    to: &mut impl Write,
    head: &Head,
    until_close: bool,
    limiter: &Limiter,
    cut: Cut,
) -> io::Result<Option<u64>> {
    let mut copied = 0u64;
    if head.chunked {
        loop {
            let mut line = Vec::new();
            from.read_until(b'\n', &mut line)?;
            to.write_all(&line)?;
            let size_text = String::from_utf8_lossy(&line);
            let size = u64::from_str_radix(size_text.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut trailer = Vec::new();
                    from.read_until(b'\n', &mut trailer)?;
                    to.write_all(&trailer)?;
                    if trailer.trim_ascii().is_empty() {
                        return Ok(Some(copied));
                    }
                }
            }
            if !copy_span(from, to, Some(size), limiter, cut, &mut copied)? {
                return Ok(None);
            }
            let mut crlf = Vec::new();
            from.read_until(b'\n', &mut crlf)?;
            to.write_all(&crlf)?;
        }
    }
    let length = match head.content_length {
        Some(n) => Some(n),
        None if until_close => None,
        None => Some(0),
    };
    Ok(copy_span(from, to, length, limiter, cut, &mut copied)?.then_some(copied))
}

/// Copies `n` bytes (None: to the end of the stream) through `limiter`, counting them in
/// `copied`; false when `cut` stopped it first.
fn copy_span(
    from: &mut impl BufRead,
    to: &mut impl Write,
    n: Option<u64>,
    limiter: &Limiter,
    cut: Cut,
    copied: &mut u64,
) -> io::Result<bool> {
    let mut left = n;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let mut want = left.map_or(buffer.len() as u64, |l| l.min(buffer.len() as u64)) as usize;
        if want == 0 {
            return Ok(true);
        }
        if let Cut::After(limit) = cut {
            want = want.min(limit.saturating_sub(*copied) as usize);
            if want == 0 {
                return Ok(false);
            }
        }
        let read = from.read(buffer.get_mut(..want).unwrap_or_default())?;
        if read == 0 {
            return match left {
                None => Ok(true),
                Some(_) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut body")),
            };
        }
        limiter.take(read as u64);
        to.write_all(buffer.get(..read).unwrap_or_default())?;
        *copied += read as u64;
        if let Some(l) = left.as_mut() {
            *l -= read as u64;
        }
    }
}

/// Which fault hits one request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Throttle,
    ResetPut,
    StallGet,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::None => "-",
            Fault::Throttle => "throttled",
            Fault::ResetPut => "reset",
            Fault::StallGet => "stalled",
        }
    }
}

fn connection(client: TcpStream, shared: &Shared) -> io::Result<()> {
    let config = &shared.config;
    let mut client_in = BufReader::new(client.try_clone()?);
    let mut client_out = client;
    let mut upstream: Option<(BufReader<TcpStream>, TcpStream)> = None;
    loop {
        let Some(request) = read_head(&mut client_in)? else {
            return Ok(());
        };
        let started = Instant::now();
        let mut parts = request.first_line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let number = shared.requests.fetch_add(1, Ordering::SeqCst);
        let fault = if number < config.faults_after {
            Fault::None
        } else if shared.draw() < config.throttle_rate {
            Fault::Throttle
        } else if method == "PUT" && shared.draw() < config.reset_put_rate {
            Fault::ResetPut
        } else if method == "GET" && shared.draw() < config.stall_get_rate {
            Fault::StallGet
        } else {
            Fault::None
        };
        let up_bytes = request.content_length.unwrap_or(0);

        if fault == Fault::Throttle {
            // Read the body away, then answer without asking the server.
            copy_body(
                &mut client_in,
                &mut io::sink(),
                &request,
                false,
                &Limiter::new(0),
                Cut::None,
            )?;
            thread::sleep(config.delay_up + config.delay_down);
            let reason = if config.throttle_status == 429 {
                "Too Many Requests"
            } else {
                "Service Unavailable"
            };
            write!(
                client_out,
                "HTTP/1.1 {} {reason}\r\nRetry-After: {}\r\nContent-Length: 0\r\n\r\n",
                config.throttle_status, config.retry_after_seconds
            )?;
            shared.log(&format!(
                "{method} {target} {} {up_bytes} 0 {} throttled",
                config.throttle_status,
                started.elapsed().as_millis()
            ));
            continue;
        }

        thread::sleep(config.delay_up);
        if upstream.is_none() {
            let stream = TcpStream::connect(config.upstream)?;
            upstream = Some((BufReader::new(stream.try_clone()?), stream));
        }
        let Some((up_in, up_out)) = upstream.as_mut() else {
            return Ok(());
        };
        up_out.write_all(&request.raw)?;
        let cut = if fault == Fault::ResetPut {
            Cut::After(up_bytes / 2)
        } else {
            Cut::None
        };
        let sent = copy_body(&mut client_in, up_out, &request, false, &shared.up, cut)?;
        if sent.is_none() {
            // Reset mid-body: both sides see the connection end with half a body sent.
            shared.log(&format!(
                "{method} {target} - {} 0 {} reset",
                up_bytes / 2,
                started.elapsed().as_millis()
            ));
            let _ = up_out.shutdown(Shutdown::Both);
            let _ = client_out.shutdown(Shutdown::Both);
            return Ok(());
        }
        let service = match method.as_str() {
            "GET" | "HEAD" | "PROPFIND" | "OPTIONS" => config.service_read,
            _ => config.service_write,
        };
        thread::sleep(service);
        let Some(response) = read_head(up_in)? else {
            return Ok(());
        };
        thread::sleep(config.delay_down);
        client_out.write_all(&response.raw)?;
        let status: u16 = response
            .first_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let has_body =
            method != "HEAD" && !(100..200).contains(&status) && status != 204 && status != 304;
        let mut down = 0;
        if has_body {
            let cut = match (fault, response.content_length) {
                (Fault::StallGet, Some(n)) if n > 1 => Cut::After(n / 2),
                _ => Cut::None,
            };
            match copy_body(up_in, &mut client_out, &response, true, &shared.down, cut)? {
                Some(n) => down = n,
                None => {
                    client_out.flush()?;
                    shared.log(&format!(
                        "{method} {target} {status} {up_bytes} {} {} stalled",
                        response.content_length.unwrap_or(0) / 2,
                        started.elapsed().as_millis()
                    ));
                    thread::sleep(config.stall);
                    let _ = up_out.shutdown(Shutdown::Both);
                    let _ = client_out.shutdown(Shutdown::Both);
                    return Ok(());
                }
            }
        }
        client_out.flush()?;
        shared.log(&format!(
            "{method} {target} {status} {up_bytes} {down} {} {}",
            started.elapsed().as_millis(),
            fault.name()
        ));
        let until_close = has_body && response.content_length.is_none() && !response.chunked;
        if request.close || response.close || until_close {
            let _ = client_out.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

/// A proxy in this process for tests: starts serving in a background thread and returns its
/// address.
pub fn spawn(config: Config) -> io::Result<SocketAddr> {
    let (listener, addr) = bind(&config)?;
    thread::spawn(move || serve(listener, config));
    // The listener is bound: connections queue until the thread accepts them.
    thread::sleep(Duration::from_millis(1));
    Ok(addr)
}
