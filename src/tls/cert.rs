//! Certificates as the TLS server uses them: a PEM chain and key made into a
//! rustls `CertifiedKey` (ring), and the validity window read from the leaf's DER
//! (only the two dates are needed, so a few lines of DER walking replace an X.509
//! parser).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// A certificate ready to serve, with the leaf's validity window.
#[derive(Clone, Debug)]
pub struct Served {
    /// The chain and the signing key.
    pub key: Arc<CertifiedKey>,
    /// The leaf's `notBefore`.
    pub not_before: SystemTime,
    /// The leaf's `notAfter`.
    pub not_after: SystemTime,
}

impl Served {
    /// When to renew: once two thirds of the lifetime have passed (30 days before
    /// the end of a 90-day certificate).
    pub fn renew_at(&self) -> SystemTime {
        let lifetime = self.not_after.duration_since(self.not_before).unwrap_or_default();
        self.not_before + lifetime * 2 / 3
    }
}

/// A PEM certificate chain (leaf first) and a PEM private key, checked to match.
pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Served, String> {
    let certs = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "the certificate file is not PEM".to_owned())?;
    let Some(leaf) = certs.first() else {
        return Err("the certificate file holds no certificate".to_owned());
    };
    let (not_before, not_after) =
        validity(leaf).ok_or_else(|| "the certificate cannot be read (not X.509 DER)".to_owned())?;
    let key =
        PrivateKeyDer::from_pem_slice(key).map_err(|_| "the key file holds no PEM private key".to_owned())?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(certs, key, &provider)
        .map_err(|e| format!("the private key does not fit the certificate: {e}"))?;
    Ok(Served {
        key: Arc::new(certified),
        not_before,
        not_after,
    })
}

/// One DER element: its tag, its content, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The `notBefore` and `notAfter` of an X.509 certificate.
pub fn validity(cert: &[u8]) -> Option<(SystemTime, SystemTime)> {
    const SEQUENCE: u8 = 0x30;
    let (tag, certificate, _) = element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs, _) = element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rest = tbs;
    // version [0] (optional), serialNumber, signature, issuer, then validity.
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag_a, a, after) = element(validity)?;
    let (tag_b, b, _) = element(after)?;
    Some((time(tag_a, a)?, time(tag_b, b)?))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, text: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match (tag, digits.len()) {
        (0x17, 12) => {
            let yy: i64 = digits[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        (0x18, 14) => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (month, day, hour, minute, second) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn the_validity_of_a_generated_certificate_is_read_back() {
        let mut params = rcgen::CertificateParams::new(vec!["weld.example.org".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 3, 1);
        params.not_after = rcgen::date_time_ymd(2051, 5, 30);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (before, after) = validity(cert.der()).unwrap();
        // 2026-03-01 and 2051-05-30 (GeneralizedTime from 2050 on), midnight UTC.
        assert_eq!(unix(before), 1_772_323_200);
        assert_eq!(unix(after), 2_569_017_600);

        let served = from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
        assert_eq!(unix(served.not_after), 2_569_017_600);
        assert!(served.renew_at() > served.not_before && served.renew_at() < served.not_after);
    }

    #[test]
    fn garbage_and_mismatched_keys_are_refused_with_a_reason() {
        assert!(validity(b"\x30\x03\x02\x01").is_none());
        assert!(validity(&[]).is_none());
        let key = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let error = from_pem(cert.pem().as_bytes(), other.serialize_pem().as_bytes()).unwrap_err();
        assert!(error.contains("does not fit"), "{error}");
        let error = from_pem(b"not pem", key.serialize_pem().as_bytes()).unwrap_err();
        assert!(
            error.contains("no certificate") || error.contains("not PEM"),
            "{error}"
        );
        let error = from_pem(cert.pem().as_bytes(), b"").unwrap_err();
        assert!(error.contains("no PEM private key"), "{error}");
    }
}
