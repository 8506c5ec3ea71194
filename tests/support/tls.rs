//! A TLS acceptor for the fakes that speak HTTPS (the HTTP/2 tests and the
//! held-requests stand-in of `examples/held.rs`): the PEM certificate chain and
//! key given, ALPN `h2` then `http/1.1`, ring as the crypto provider.

use std::sync::Arc;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// The acceptor for `cert` (PEM chain) and `key` (PEM private key).
pub fn acceptor(cert: &str, key: &str) -> tokio_rustls::TlsAcceptor {
    let certs = CertificateDer::pem_file_iter(cert)
        .expect("the certificate file opens")
        .collect::<Result<Vec<_>, _>>()
        .expect("the certificate file is PEM");
    let key = PrivateKeyDer::from_pem_file(key).expect("the key file is a PEM private key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the key matches the certificate");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
