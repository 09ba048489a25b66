//! Just enough URL handling for `https://host[:port]/path` and form/percent encoding.

/// An `https://` URL split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsUrl {
    /// Host name (no brackets, no port).
    pub host: String,
    /// Port (443 when absent).
    pub port: u16,
    /// Path and query, always starting with `/`; no trailing `/` is added or removed.
    pub path: String,
}

impl HttpsUrl {
    /// Parses `https://host[:port][/path]`. Only `https` is accepted: every fake in the lab
    /// speaks TLS, as the real services do.
    pub fn parse(text: &str) -> Result<Self, String> {
        let rest = text
            .get(..8)
            .filter(|s| s.eq_ignore_ascii_case("https://"))
            .map(|_| &text[8..])
            .ok_or_else(|| format!("not an https:// URL: {text:?}"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("bad port in URL {text:?}"))?,
            ),
            None => (authority, 443),
        };
        if host.is_empty() || host.contains('@') || host.contains('[') {
            return Err(format!("unsupported host in URL {text:?}"));
        }
        Ok(HttpsUrl {
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_owned(),
        })
    }

    /// The URL with `suffix` appended to the path (a single `/` between them).
    pub fn join(&self, suffix: &str) -> HttpsUrl {
        let mut u = self.clone();
        let base = u.path.trim_end_matches('/');
        u.path = format!("{base}/{}", suffix.trim_start_matches('/'));
        u
    }
}

impl std::fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.port == 443 {
            write!(f, "https://{}{}", self.host, self.path)
        } else {
            write!(f, "https://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// Percent-encodes one path segment (unreserved characters and `@` stay as they are).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
/// Encodes a form value (`application/x-www-form-urlencoded`).
pub(crate) fn encode_form_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text into pairs. Invalid escapes are kept
/// literally; invalid UTF-8 is replaced. Never panics.
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = std::str::from_utf8(&s[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u =
            HttpsUrl::parse("https://XSP.lab.example:8443/com.broadsoft.xsi-actions/v2.0").unwrap();
        assert_eq!(u.host, "xsp.lab.example");
        assert_eq!(u.port, 8443);
        assert_eq!(
            u.join("user/a@b/profile").path,
            "/com.broadsoft.xsi-actions/v2.0/user/a@b/profile"
        );
        assert_eq!(HttpsUrl::parse("https://h").unwrap().path, "/");
        assert!(HttpsUrl::parse("http://h/").is_err());
        assert!(HttpsUrl::parse("https://h:x/").is_err());
        assert!(HttpsUrl::parse("").is_err());
    }

    #[test]
    fn form_round_trip() {
        let f = parse_form(b"a=1&b=x+y%21&c&d=%zz&e=%4");
        assert_eq!(f[0], ("a".into(), "1".into()));
        assert_eq!(f[1], ("b".into(), "x y!".into()));
        assert_eq!(f[2], ("c".into(), "".into()));
        assert_eq!(f[3], ("d".into(), "%zz".into()));
        assert_eq!(f[4], ("e".into(), "%4".into()));
        let v = "p@ss w:rd/é";
        let enc = format!("k={}", encode_form_value(v));
        assert_eq!(parse_form(enc.as_bytes())[0].1, v);
    }
}
