//! Loading: layers, verbatim text, ranges, errors that name the setting or the file
//! and print no secret, warnings for unknown variables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::path::Path;

use figment::Jail;
use secrecy::ExposeSecret;

use super::*;

fn load_in_jail(file: Option<&str>) -> Result<Config, ConfigError> {
    Config::load(file.map(Path::new)).map(|loaded| loaded.config)
}

#[test]
fn defaults_match_the_design_table() {
    Jail::expect_with(|_| {
        let c = load_in_jail(None).unwrap();
        assert_eq!(c.gemini_model, "gemini-flash-latest");
        assert_eq!(c.gemini_fallback_models, vec!["gemini-flash-lite-latest"]);
        assert_eq!(
            c.gemini_base_url.as_str(),
            "https://generativelanguage.googleapis.com/"
        );
        assert_eq!(c.gemini_timeout_seconds, 60);
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(c.session_ttl_hours, 168);
        assert!(c.cookie_secure);
        assert_eq!(c.rate_limit_per_minute, 20);
        assert_eq!(c.rate_limit_burst, 5);
        assert_eq!(c.rate_limit_per_ip_per_minute, 120);
        assert_eq!(c.rate_limit_per_ip_burst, 60);
        assert!(c.redis_url.is_none());
        assert_eq!(c.max_images, 4);
        assert_eq!(c.max_image_bytes, 10_485_760);
        assert_eq!(c.max_chat_bytes, 1_048_576);
        assert!(c.gemini_api_key.is_none() && c.daily_request_budget.is_none());
        assert!(!c.metrics);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.request_timeout_seconds, 30);
        assert_eq!(c.sse_keepalive_seconds, 15);
        assert_eq!(c.startup_probe, StartupProbe::Generate);
        Ok(())
    });
}

#[test]
fn environment_overrides_the_toml_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "weld.toml",
            r#"
            gemini_model = "gemini-from-toml"
            rate_limit_per_minute = 30
            gemini_api_key = "toml-key"
            api_tokens = ["t1", "t2"]
            "#,
        )?;
        jail.set_env("WELD_RATE_LIMIT_PER_MINUTE", "45");
        jail.set_env("GEMINI_API_KEY", "env-key");
        let c = load_in_jail(Some("weld.toml")).unwrap();
        assert_eq!(c.gemini_model, "gemini-from-toml");
        assert_eq!(c.rate_limit_per_minute, 45);
        assert_eq!(c.gemini_api_key.unwrap().expose_secret(), "env-key");
        let tokens: Vec<_> = c
            .api_tokens
            .iter()
            .map(|t| t.expose_secret().to_owned())
            .collect();
        assert_eq!(tokens, vec!["t1", "t2"]);
        Ok(())
    });
}

#[test]
fn comma_lists_and_numeric_secrets_come_from_the_environment() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_GEMINI_API_KEYS", "k1, k2,,k1");
        jail.set_env("WELD_ACCESS_CODE", "123456");
        jail.set_env("WELD_API_TOKENS", "999");
        jail.set_env("WELD_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1");
        jail.set_env("WELD_GEMINI_FALLBACK_MODELS", "a-1,b-2");
        jail.set_env("WELD_COOKIE_SECURE", "false");
        jail.set_env("WELD_DAILY_REQUEST_BUDGET", "500");
        let c = load_in_jail(None).unwrap();
        let keys: Vec<_> = c
            .gemini_keys()
            .iter()
            .map(|k| k.expose_secret().to_owned())
            .collect();
        assert_eq!(keys, vec!["k1", "k2"]);
        assert_eq!(c.access_code.unwrap().expose_secret(), "123456");
        assert_eq!(c.api_tokens[0].expose_secret(), "999");
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.gemini_fallback_models, vec!["a-1", "b-2"]);
        assert!(!c.cookie_secure);
        assert_eq!(c.daily_request_budget, Some(500));
        Ok(())
    });
}

#[test]
fn an_invalid_number_names_the_setting_and_the_expected_form() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_RATE_LIMIT_PER_MINUTE", "lots");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(msg.contains("WELD_RATE_LIMIT_PER_MINUTE"), "{msg}");
        assert!(msg.contains("a whole number"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
        Ok(())
    });
}

#[test]
fn out_of_range_and_malformed_values_are_refused() {
    let cases = [
        ("WELD_RATE_LIMIT_PER_MINUTE", "0"),
        ("WELD_GEMINI_TIMEOUT_SECONDS", "0"),
        ("WELD_LISTEN", "not-an-address"),
        ("WELD_GEMINI_BASE_URL", "ftp://x"),
        ("WELD_PUBLIC_URL", "nope"),
        ("WELD_LOG_FORMAT", "xml"),
        ("WELD_METRICS", "perhaps"),
        ("WELD_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("WELD_ALLOWED_ORIGINS", "https://a.example/path"),
        ("WELD_GEMINI_MODEL", "bad/model"),
        ("WELD_MAX_IMAGE_BYTES", "12"),
        ("GEMINI_API_KEY", "key with spaces"),
        ("WELD_GEMINI_API_KEYS", "ok,naïve"),
    ];
    for (env, value) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(env, value);
            let msg = load_in_jail(None).unwrap_err().to_string();
            assert!(msg.contains(env), "{env}={value}: {msg}");
            Ok(())
        });
    }
}

#[test]
fn a_short_session_secret_is_refused_without_echoing_it() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_SESSION_SECRET", "short-canary-secret");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(
            msg.contains("WELD_SESSION_SECRET") && msg.contains("32 bytes"),
            "{msg}"
        );
        assert!(!msg.contains("short-canary-secret"));
        Ok(())
    });
}

#[test]
fn a_bad_redis_url_is_refused_naming_the_setting_without_echoing_it() {
    for bad in [
        "http://:canary-pw@127.0.0.1:6379",
        "canary-pw@127.0.0.1:6379",
        "redis://:canary-pw@[::1:6379",
        "redis+unix:///tmp/canary-pw.sock",
    ] {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_REDIS_URL", bad);
            let msg = load_in_jail(None).unwrap_err().to_string();
            assert!(msg.contains("WELD_REDIS_URL"), "{bad}: {msg}");
            assert!(!msg.contains("canary-pw"), "{bad}: {msg}");
            Ok(())
        });
    }
    for good in ["redis://127.0.0.1:6379", "rediss://:pw@valkey.example.org:6380/2"] {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_REDIS_URL", good);
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.redis_url.unwrap().expose_secret(), good);
            Ok(())
        });
    }
}

#[test]
fn an_unknown_toml_key_is_named() {
    Jail::expect_with(|jail| {
        jail.create_file("weld.toml", "gemini_modle = \"x\"\n")?;
        let msg = load_in_jail(Some("weld.toml")).unwrap_err().to_string();
        assert!(msg.contains("gemini_modle"), "{msg}");
        Ok(())
    });
}

#[test]
fn the_redacted_view_hides_every_secret() {
    Jail::expect_with(|jail| {
        jail.set_env("GEMINI_API_KEY", "canary-key-AAAA");
        jail.set_env("WELD_SESSION_SECRET", "canary-secret-0123456789abcdef0123456789");
        jail.set_env("WELD_ACCESS_CODE", "canary-code");
        jail.set_env("WELD_API_TOKENS", "canary-token");
        jail.set_env("WELD_REDIS_URL", "redis://:canary-redis@127.0.0.1:6379/0");
        let text = load_in_jail(None).unwrap().redacted_toml();
        for canary in [
            "canary-key",
            "canary-secret",
            "canary-code",
            "canary-token",
            "canary-redis",
        ] {
            assert!(!text.contains(canary), "{canary} leaked:\n{text}");
        }
        assert!(text.contains("gemini_model = \"gemini-flash-latest\""), "{text}");
        assert!(text.contains("<redacted>"));
        Ok(())
    });
}

#[test]
fn a_keepalive_of_zero_is_refused_naming_the_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_SSE_KEEPALIVE_SECONDS", "0");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(msg.contains("WELD_SSE_KEEPALIVE_SECONDS"), "{msg}");
        assert!(
            msg.contains("from 1 to 300") && msg.contains("the environment"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");
        Ok(())
    });
}

#[test]
fn the_request_timeout_is_read_from_the_environment_and_checked() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_REQUEST_TIMEOUT_SECONDS", "45");
        assert_eq!(load_in_jail(None).unwrap().request_timeout_seconds, 45);
        for bad in ["abc", "0", "601", "1.5", "-3"] {
            jail.set_env("WELD_REQUEST_TIMEOUT_SECONDS", bad);
            let msg = load_in_jail(None).unwrap_err().to_string();
            assert!(msg.contains("WELD_REQUEST_TIMEOUT_SECONDS"), "{bad}: {msg}");
        }
        Ok(())
    });
}

#[test]
fn every_range_is_checked_at_both_ends() {
    for s in SETTINGS {
        let Form::Range { min, max, .. } = s.form else {
            continue;
        };
        Jail::expect_with(|jail| {
            for ok in [min, max] {
                jail.set_env(s.env, ok);
                assert!(load_in_jail(None).is_ok(), "{}={ok} refused", s.env);
            }
            let mut bad = vec![max + 1];
            if min > 0 {
                bad.push(min - 1);
            }
            for value in bad {
                jail.set_env(s.env, value);
                let msg = load_in_jail(None).unwrap_err().to_string();
                assert!(msg.contains(s.env) && msg.contains("out of range"), "{msg}");
            }
            Ok(())
        });
    }
}

#[test]
fn text_settings_are_taken_verbatim() {
    for code in [
        "0451",
        "007",
        "1.50",
        "\"quoted\"",
        "true",
        "1e3",
        " spaced ",
        "[1, 2]",
    ] {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_ACCESS_CODE", code);
            jail.set_env("WELD_API_TOKENS", code.replace(',', ""));
            jail.set_env("GEMINI_API_KEY", "0123");
            jail.set_env(
                "WELD_SESSION_SECRET",
                format!("{code}-0000000000000000000000000000000"),
            );
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.access_code.unwrap().expose_secret(), code);
            assert_eq!(c.api_tokens[0].expose_secret(), code.replace(',', "").trim());
            assert_eq!(c.gemini_api_key.unwrap().expose_secret(), "0123");
            assert!(c.session_secret.unwrap().expose_secret().starts_with(code));
            Ok(())
        });
    }
}

#[test]
fn model_ids_and_urls_are_taken_verbatim() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_GEMINI_MODEL", "1.50");
        jail.set_env("WELD_GEMINI_FALLBACK_MODELS", "007,2.0");
        let c = load_in_jail(None).unwrap();
        assert_eq!(c.gemini_model, "1.50");
        assert_eq!(c.gemini_fallback_models, vec!["007", "2.0"]);
        Ok(())
    });
}

#[test]
fn toml_numbers_are_accepted_for_numbers_but_text_settings_need_quotes() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "n.toml",
            "sse_keepalive_seconds = 20\nmetrics = true\nmax_chat_bytes = \"2048\"\n",
        )?;
        let c = load_in_jail(Some("n.toml")).unwrap();
        assert_eq!(
            (c.sse_keepalive_seconds, c.metrics, c.max_chat_bytes),
            (20, true, 2048)
        );

        jail.create_file("f.toml", "sse_keepalive_seconds = 20.0\n")?;
        let msg = load_in_jail(Some("f.toml")).unwrap_err().to_string();
        assert!(
            msg.contains("WELD_SSE_KEEPALIVE_SECONDS") && msg.contains("f.toml"),
            "{msg}"
        );

        jail.create_file("t.toml", "access_code = 1234\n")?;
        let msg = load_in_jail(Some("t.toml")).unwrap_err().to_string();
        assert!(
            msg.contains("WELD_ACCESS_CODE") && msg.contains("quoted string"),
            "{msg}"
        );
        assert!(!msg.contains("1234"), "{msg}");
        Ok(())
    });
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line_and_prints_no_secret() {
    let canary = "AIzaCANARYsecretvalue0123456789";
    let files = [
        format!("gemini_model = \"x\"\ngemini_api_key = {canary}\n"),
        format!("gemini_api_key = \"{canary}\n"),
        format!("session_secret = '{canary}\n"),
        format!("api_tokens = [{canary}]\n"),
        format!("access_code = {canary}\"\n"),
        format!("[{canary}\n"),
        format!("gemini_api_key = \"{canary}\"\ngemini_api_key = \"{canary}\"\n"),
    ];
    for text in files {
        Jail::expect_with(|jail| {
            jail.create_file("secret.toml", &text)?;
            let msg = load_in_jail(Some("secret.toml")).unwrap_err().to_string();
            assert!(msg.contains("secret.toml") && msg.contains("line "), "{msg}");
            for part in ["CANARY", "AIza", "secretvalue", "0123456789"] {
                assert!(!msg.contains(part), "{part} leaked: {msg}");
            }
            assert!(!msg.contains('\n'), "one line: {msg}");
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.create_file(
            "where.toml",
            &format!("listen = \"0.0.0.0:1\"\n\ngemini_api_key = {canary}\n"),
        )?;
        let msg = load_in_jail(Some("where.toml")).unwrap_err().to_string();
        assert!(msg.contains("line 3, column 18"), "{msg}");
        Ok(())
    });
}

#[test]
fn a_bad_secret_in_the_file_names_the_setting_and_file_but_not_the_value() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "s.toml",
            "session_secret = \"CANARY-short\"\ngemini_api_key = \"AIza CANARY\"\n",
        )?;
        let msg = load_in_jail(Some("s.toml")).unwrap_err().to_string();
        assert!(msg.contains("s.toml") && !msg.contains("CANARY"), "{msg}");
        assert!(
            msg.contains("WELD_SESSION_SECRET") || msg.contains("GEMINI_API_KEY"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn a_missing_or_unreadable_config_file_is_named() {
    Jail::expect_with(|jail| {
        let msg = load_in_jail(Some("/missing/weld-config.toml"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/missing/weld-config.toml"), "{msg}");
        jail.create_dir("a-directory.toml")?;
        let msg = load_in_jail(Some("a-directory.toml")).unwrap_err().to_string();
        assert!(msg.contains("a-directory.toml"), "{msg}");
        Ok(())
    });
}

#[test]
fn an_unknown_toml_key_is_named_with_the_file_and_a_suggestion() {
    Jail::expect_with(|jail| {
        jail.create_file("weld.toml", "sse_keepalive_secs = 5\n")?;
        let msg = load_in_jail(Some("weld.toml")).unwrap_err().to_string();
        assert!(
            msg.contains("sse_keepalive_secs") && msg.contains("weld.toml"),
            "{msg}"
        );
        assert!(msg.contains("did you mean `sse_keepalive_seconds`"), "{msg}");
        jail.create_file("env.toml", "WELD_LISTEN = \"127.0.0.1:1\"\n")?;
        let msg = load_in_jail(Some("env.toml")).unwrap_err().to_string();
        assert!(msg.contains("did you mean `listen`"), "{msg}");
        Ok(())
    });
}

#[test]
fn unknown_weld_variables_are_warned_about_and_known_ones_are_not() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_ACCES_CODE", "x");
        jail.set_env("WELD_LISTEN", "127.0.0.1:1");
        jail.set_env("WELD_CONFIG", "ignored-here");
        jail.set_env("WELD_SKIP_FRONTEND_BUILD", "1");
        let loaded = Config::load(None).unwrap();
        let typo: Vec<_> = loaded
            .warnings
            .iter()
            .filter(|w| w.contains("WELD_ACCES_CODE"))
            .collect();
        assert_eq!(typo.len(), 1, "{:?}", loaded.warnings);
        assert!(typo[0].contains("did you mean WELD_ACCESS_CODE"), "{}", typo[0]);
        for quiet in ["WELD_LISTEN", "WELD_CONFIG", "WELD_SKIP_FRONTEND_BUILD"] {
            assert!(
                !loaded.warnings.iter().any(|w| w.contains(&format!("{quiet} "))),
                "{quiet}: {:?}",
                loaded.warnings
            );
        }
        Ok(())
    });
}

#[test]
fn the_startup_probe_is_a_word() {
    for (word, probe) in [
        ("generate", StartupProbe::Generate),
        ("models", StartupProbe::Models),
        ("off", StartupProbe::Off),
    ] {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_STARTUP_PROBE", word);
            let c = load_in_jail(None).unwrap();
            assert_eq!(c.startup_probe, probe);
            assert!(c.redacted_toml().contains(&format!("startup_probe = \"{word}\"")));
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.set_env("WELD_STARTUP_PROBE", "list");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(
            msg.contains("WELD_STARTUP_PROBE") && msg.contains("generate, models, off"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn the_redacted_view_lists_every_setting_once_in_table_order() {
    let text = Config::defaults().redacted_toml();
    let keys: Vec<&str> = text.lines().filter_map(|l| l.split(" = ").next()).collect();
    let expected: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    assert_eq!(keys, expected);
    assert!(toml::from_str::<toml::Table>(&text).is_ok(), "{text}");
}

#[test]
fn the_analyze_body_limit_scales_with_the_number_of_photos() {
    let mut c = Config::defaults();
    // Four photos of 10 MiB as base64 (4 × 13,981,016) plus 64 KiB.
    assert_eq!(c.max_analyze_body_bytes(), 4 * 13_981_016 + 65_536);
    c.max_image_bytes = 30_000;
    c.max_images = 1;
    assert_eq!(c.max_analyze_body_bytes(), 40_000 + 65_536);
    c.max_images = 10;
    assert_eq!(c.max_analyze_body_bytes(), 400_000 + 65_536);
}

#[test]
fn the_number_of_photos_is_checked_at_start_up() {
    for bad in ["0", "11"] {
        Jail::expect_with(|jail| {
            jail.set_env("WELD_MAX_IMAGES", bad);
            let error = load_in_jail(None).unwrap_err();
            assert!(error.to_string().contains("WELD_MAX_IMAGES"), "{error}");
            Ok(())
        });
    }
}

#[test]
fn the_gemini_ca_file_must_be_a_readable_pem_and_its_content_is_never_echoed() {
    Jail::expect_with(|jail| {
        jail.set_env("WELD_GEMINI_CA_FILE", "missing.pem");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(
            msg.contains("WELD_GEMINI_CA_FILE") && msg.contains("missing.pem"),
            "{msg}"
        );
        jail.create_file("not-pem.txt", "canary-not-a-certificate")?;
        jail.set_env("WELD_GEMINI_CA_FILE", "not-pem.txt");
        let msg = load_in_jail(None).unwrap_err().to_string();
        assert!(msg.contains("holds no PEM certificate"), "{msg}");
        assert!(!msg.contains("canary-not-a-certificate"), "{msg}");
        jail.create_file("ca.pem", include_str!("../../tests/fixtures/tls/ca.pem"))?;
        jail.set_env("WELD_GEMINI_CA_FILE", "ca.pem");
        let config = load_in_jail(None).expect("a PEM bundle is accepted");
        assert_eq!(config.gemini_ca_file.as_deref(), Some("ca.pem"));
        Ok(())
    });
}

#[test]
fn https_settings_are_read_and_checked_together() {
    Jail::expect_with(|jail| {
        let c = load_in_jail(None).unwrap();
        assert!(c.domain.is_empty() && !c.serves_https());
        assert_eq!(c.https_listen.to_string(), "0.0.0.0:8443");
        assert_eq!(
            c.acme_directory_url.as_str(),
            "https://acme-v02.api.letsencrypt.org/directory"
        );

        jail.set_env("WELD_DOMAIN", "weld.example.org, www.weld.example.org");
        jail.set_env("WELD_TLS_CACHE_DIR", "/data/tls");
        jail.set_env("WELD_COOKIE_SECURE", "false");
        let c = load_in_jail(None).unwrap();
        assert_eq!(c.domain, vec!["weld.example.org", "www.weld.example.org"]);
        assert!(c.serves_https());
        assert!(c.session_cookie_secure(), "a domain makes the cookie Secure");

        jail.set_env("WELD_HTTPS_LISTEN", "0.0.0.0:8080");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(
            err.contains("WELD_HTTPS_LISTEN") && err.contains("own port"),
            "{err}"
        );
        jail.set_env("WELD_HTTPS_LISTEN", "0.0.0.0:8443");

        for bad in [
            "localhost",
            "1.2.3.4",
            "-a.example.org",
            "a..example.org",
            "weld.example.org:443",
        ] {
            jail.set_env("WELD_DOMAIN", bad);
            let err = load_in_jail(None).unwrap_err().to_string();
            assert!(
                err.contains("WELD_DOMAIN") && err.contains("host name"),
                "{bad}: {err}"
            );
        }
        jail.set_env("WELD_DOMAIN", "");
        jail.set_env("WELD_TLS_KEY_FILE", "/etc/key.pem");
        let err = load_in_jail(None).unwrap_err().to_string();
        assert!(err.contains("WELD_TLS_CERT_FILE is not"), "{err}");
        Ok(())
    });
}
