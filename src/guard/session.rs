//! The stateless session cookie `weld_session`: `v1.<expires>.<id>.<mac>`, where
//! `mac` is HMAC-SHA256 over the rest with a key derived from the server secret
//! and the access-code setting (`HMAC(secret, "weld-session/" + binding)`), so
//! enabling, changing or removing `WELD_ACCESS_CODE` ends every earlier session.
//! The expiry sits inside the signed value and is checked on every request, so a
//! copied cookie does not stay valid forever. Owns cookie issuing, checking and clearing; it
//! must never log or return the secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use poem::http::HeaderMap;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const COOKIE_NAME: &str = "weld_session";

type HmacSha256 = Hmac<Sha256>;

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z): a later expiry is
/// refused, so `expiresAt` can always be written.
const MAX_EXPIRY_SECS: u64 = 253_402_300_799;

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// A random id (the per-session rate-limit key).
    pub id: String,
    /// When it ends.
    pub expires: SystemTime,
}

/// Issues and checks session cookies.
#[derive(Clone)]
pub struct Sessions {
    /// The signing key: derived from the secret and the access-code binding.
    key: SecretSlice<u8>,
    ttl: Duration,
    secure: bool,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions signed with `secret` (at least 32 bytes), living `ttl`, on a site
    /// without an access code.
    pub fn new(secret: Vec<u8>, ttl: Duration, secure: bool) -> Self {
        Self::for_access_code(secret, ttl, secure, None)
    }

    /// Sessions signed with `secret`, bound to the access code they are issued
    /// under (`None`: no code): a cookie issued under another setting is refused.
    pub fn for_access_code(secret: Vec<u8>, ttl: Duration, secure: bool, access_code: Option<&str>) -> Self {
        let secret: SecretSlice<u8> = secret.into();
        #[allow(clippy::expect_used)] // HMAC takes keys of any length.
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret()).expect("any key length");
        derive.update(b"weld-session/");
        match access_code {
            // Only a digest of the code enters the key.
            Some(code) => {
                derive.update(b"code/");
                derive.update(&Sha256::digest(code.as_bytes()));
            }
            None => derive.update(b"open"),
        }
        Self {
            key: derive.finalize().into_bytes().to_vec().into(),
            ttl,
            secure,
        }
    }

    /// Whether the cookie is marked `Secure` (browsers keep it only over HTTPS,
    /// and on `localhost`).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// A random 32-byte secret, for a server started without one.
    pub fn random_secret() -> Vec<u8> {
        let mut secret = vec![0u8; 32];
        rand::fill(&mut secret[..]);
        secret
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        #[allow(clippy::expect_used)] // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret()).expect("any key length");
        mac.update(payload.as_bytes());
        mac
    }

    /// A new session and its cookie value.
    pub fn issue(&self) -> (Session, String) {
        self.issue_at(SystemTime::now())
    }

    fn issue_at(&self, now: SystemTime) -> (Session, String) {
        let secs = now
            .checked_add(self.ttl)
            .and_then(|expires| expires.duration_since(UNIX_EPOCH).ok())
            .map_or(MAX_EXPIRY_SECS, |d| d.as_secs().min(MAX_EXPIRY_SECS));
        self.sign_with_expiry(secs)
    }

    /// A session and its cookie value expiring `secs` after the Unix epoch,
    /// whatever the TTL (tests forge far-future and overflowing expiries with it).
    #[doc(hidden)]
    pub fn sign_with_expiry(&self, secs: u64) -> (Session, String) {
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let payload = format!("v1.{secs}.{id}");
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        let expires = UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .unwrap_or(UNIX_EPOCH);
        (Session { id, expires }, format!("{payload}.{tag}"))
    }

    /// The session a cookie value proves, if it is authentic and not expired.
    pub fn verify(&self, value: &str) -> Option<Session> {
        self.verify_at(value, SystemTime::now())
    }

    fn verify_at(&self, value: &str, now: SystemTime) -> Option<Session> {
        if value.len() > 256 {
            return None;
        }
        let (payload, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(payload).verify_slice(&tag).ok()?;
        let mut parts = payload.split('.');
        let (Some("v1"), Some(secs), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        // Checked: a signed expiry past what the clock can hold (`u64::MAX`) or
        // write (after 9999) is refused, not a panic.
        let secs: u64 = secs.parse().ok()?;
        if secs > MAX_EXPIRY_SECS {
            return None;
        }
        let expires = UNIX_EPOCH.checked_add(Duration::from_secs(secs))?;
        (expires > now).then(|| Session {
            id: id.to_owned(),
            expires,
        })
    }

    /// The valid session of a request's `Cookie` headers, if any.
    pub fn from_headers(&self, headers: &HeaderMap) -> Option<Session> {
        cookie_values(headers, COOKIE_NAME).find_map(|value| self.verify(value))
    }

    /// The `Set-Cookie` value that stores a session.
    pub fn set_cookie(&self, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE_NAME}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            self.ttl.as_secs()
        )
    }

    /// The `Set-Cookie` value that removes the session (at `Path=/`).
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{COOKIE_NAME}=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict{secure}"
        )
    }
}

/// Every value of a cookie in the request's `Cookie` headers.
pub fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(poem::http::header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| v.trim().trim_matches('"'))
        })
}

/// RFC 3339 UTC, as `expiresAt` is written.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(secret: &[u8]) -> Sessions {
        Sessions::new(secret.to_vec(), Duration::from_secs(3600), true)
    }

    #[test]
    fn an_issued_cookie_verifies_until_it_expires() {
        let s = sessions(&[7; 32]);
        let now = SystemTime::now();
        let (session, value) = s.issue_at(now);
        assert_eq!(s.verify_at(&value, now), Some(session.clone()));
        assert_eq!(
            s.verify_at(&value, now + Duration::from_secs(3599)),
            Some(session)
        );
        assert_eq!(s.verify_at(&value, now + Duration::from_secs(3601)), None);
    }

    #[test]
    fn tampered_forged_and_other_secret_cookies_are_refused() {
        let s = sessions(&[7; 32]);
        let (_, value) = s.issue();
        let (payload, tag) = value.rsplit_once('.').unwrap();
        let later = payload.replacen("v1.", "v1.9", 1);
        assert_eq!(s.verify(&format!("{later}.{tag}")), None, "extended expiry");
        assert_eq!(s.verify(&format!("{payload}.AAAA")), None, "forged tag");
        assert_eq!(s.verify("v1.99999999999.x"), None, "no tag");
        assert_eq!(s.verify(""), None);
        assert_eq!(sessions(&[8; 32]).verify(&value), None, "other secret");
        assert_eq!(s.verify(&"a".repeat(10_000)), None);
    }

    #[test]
    fn a_cookie_is_bound_to_the_access_code_it_was_issued_under() {
        let bound = |code: Option<&str>| {
            Sessions::for_access_code(vec![7; 32], Duration::from_secs(3600), true, code)
        };
        let (session, open) = bound(None).issue();
        assert_eq!(
            sessions(&[7; 32]).verify(&open),
            Some(session),
            "`new` is the open site"
        );
        assert_eq!(bound(Some("A")).verify(&open), None, "a code was enabled");
        let (session, under_a) = bound(Some("A")).issue();
        assert_eq!(bound(Some("A")).verify(&under_a), Some(session), "same code");
        assert_eq!(bound(Some("B")).verify(&under_a), None, "the code changed");
        assert_eq!(bound(None).verify(&under_a), None, "the code was removed");
        assert_eq!(bound(Some("")).verify(&open), None, "an empty code is a code");
    }

    #[test]
    fn a_signed_expiry_past_the_clock_is_refused_not_a_panic() {
        let s = sessions(&[7; 32]);
        for secs in [u64::MAX, i64::MAX as u64, MAX_EXPIRY_SECS + 1] {
            let (_, value) = s.sign_with_expiry(secs);
            assert_eq!(s.verify(&value), None, "{secs}");
        }
        let (session, value) = s.sign_with_expiry(MAX_EXPIRY_SECS);
        assert_eq!(s.verify(&value), Some(session.clone()));
        assert_eq!(rfc3339(session.expires), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn the_cookie_attributes_are_strict_and_logout_clears_at_path_root() {
        let s = sessions(&[1; 32]);
        let set = s.set_cookie("abc");
        for part in [
            "weld_session=abc",
            "Path=/",
            "Max-Age=3600",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
        ] {
            assert!(set.contains(part), "{set}");
        }
        let clear = s.clear_cookie();
        assert!(
            clear.starts_with("weld_session=;") && clear.contains("Path=/") && clear.contains("Max-Age=0")
        );
        let lan = Sessions::new(vec![1; 32], Duration::from_secs(60), false).set_cookie("x");
        assert!(!lan.contains("Secure"));
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        let s = sessions(&[3; 32]);
        let (session, value) = s.issue();
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=1; weld_session=bogus; theme=dark".parse().unwrap());
        headers.append("cookie", format!("weld_session={value}").parse().unwrap());
        assert_eq!(s.from_headers(&headers), Some(session));
    }
}
