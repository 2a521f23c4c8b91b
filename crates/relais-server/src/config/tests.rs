//! The settings' checks, each naming its key.

use super::*;

fn load(text: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, Error> {
    let env: Vec<_> = env
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    Settings::from_sources(text, "relais.toml", &env, Path::new("/ws"))
}

#[test]
fn retention_and_privacy_are_read_and_checked() {
    let s = load(None, &[]).unwrap();
    assert_eq!(
        (s.retention, s.mask.len(), s.region.as_deref()),
        (None, 0, None)
    );
    let s = load(
        Some(
            "[retention]\ntranscripts_after = \"365d\"\ntranscripts = \"anonymise\"\n\
             [privacy]\nmask = [\"card\", \"iban\"]\nregion = \"eu-west-1\"\n",
        ),
        &[],
    )
    .unwrap();
    let r = s.retention.unwrap();
    assert_eq!(r.transcripts_after, Duration::days(365));
    assert_eq!(r.how, relais_store::Forget::Anonymise);
    assert_eq!(r.check_every, Duration::hours(1));
    assert_eq!(
        s.mask,
        [
            relais_core::privacy::Kind::Card,
            relais_core::privacy::Kind::Iban
        ]
    );
    assert_eq!(s.region.as_deref(), Some("eu-west-1"));
    for (toml, key) in [
        (
            "[retention]\ntranscripts = \"shred\"\n",
            "retention.transcripts",
        ),
        (
            "[retention]\ntranscripts = \"erase\"\n",
            "retention.transcripts_after",
        ),
        (
            "[retention]\ntranscripts_after = \"1h\"\n",
            "retention.transcripts_after",
        ),
        ("[privacy]\nmask = [\"card\", \"ssn\"]\n", "privacy.mask[1]"),
        ("[privacy]\nmask = [\"email\"]\n", "privacy.mask[0]"),
        ("[privacy]\nregion = \"eu west\"\n", "privacy.region"),
        ("[privacy]\nmasks = []\n", "masks"),
    ] {
        let e = load(Some(toml), &[]).unwrap_err().to_string();
        assert!(e.contains(key), "{toml}: {e}");
    }
}

#[test]
fn costs_and_sla_targets_are_read_and_checked() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.tunable().unwrap().costs, None);
    assert_eq!(s.tunable().unwrap().sla, relais_core::kpi::Sla::default());
    let s = load(
        Some(
            "[costs]\nper_conversation = 0.1\nagent_hour = 30\n\
             [sla]\nfirst_response = \"30m\"\n[sla.teams]\nvip = \"5m\"\n",
        ),
        &[],
    )
    .unwrap();
    assert_eq!(
        s.tunable().unwrap().costs,
        Some(relais_core::kpi::Costs {
            per_conversation: 0.1,
            agent_hour: 30.0
        })
    );
    assert_eq!(
        s.tunable().unwrap().sla.first_response,
        Some(Duration::minutes(30))
    );
    assert_eq!(s.tunable().unwrap().sla.teams["vip"], Duration::minutes(5));
    let e = load(Some("[costs]\nagent_hour = -1\n"), &[]).unwrap_err();
    assert!(e.to_string().contains("costs.agent_hour"), "{e}");
    let e = load(Some("[sla.teams]\nvip = \"soon\"\n"), &[]).unwrap_err();
    assert!(e.to_string().contains("sla.teams.vip"), "{e}");
    // The commented template of `relais init` stays valid with them uncommented.
    let init: String = crate::demo::INIT_TOML
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|l| l.starts_with('[') || l.contains(" = "))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let s = load(Some(&init), &[]).unwrap();
    assert!(
        s.tunable().unwrap().costs.is_some()
            && s.tunable().unwrap().sla.teams.contains_key("support")
    );
    assert!(s.retention.is_some() && s.region.is_some() && s.mask.len() == 2);
}

#[test]
fn defaults_need_no_file() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        s.database,
        Database::Sqlite {
            path: PathBuf::from("/ws/data/relais.db"),
            synchronous_full: true
        }
    );
    assert_eq!(s.nudge_after, Duration::minutes(10));
}

#[test]
fn environment_overrides_the_file() {
    let s = load(
        Some("[server]\nlisten = \"0.0.0.0:9000\"\n[outbox]\nmax_attempts = 3\n"),
        &[
            ("RELAIS__OUTBOX__MAX_ATTEMPTS", "5"),
            ("RELAIS__SECRETS__ORDERS_API", "12345"),
            ("OTHER", "x"),
        ],
    )
    .unwrap();
    assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(s.outbox_max_attempts, 5);
    assert_eq!(s.secrets["orders_api"].expose(), "12345");
}

#[test]
fn errors_name_the_key() {
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (Some("[server]\nlisten = \"nowhere\""), &[], "server.listen"),
        (Some("[server]\nlisten = 8080"), &[], "server.listen"),
        (
            Some("[outbox]\nbackoff_base = \"soon\""),
            &[],
            "outbox.backoff_base",
        ),
        (Some("[server]\nlisten_addr = \"x\""), &[], "server"),
        (Some("[bogus]\nx = 1"), &[], "bogus: unknown field"),
        (
            None,
            &[("RELAIS__DATABASE__URL", "mysql://x")],
            "database.url",
        ),
        (None, &[("RELAIS__LOG__FORMAT", "xml")], "log.format"),
        (None, &[("RELAIS__OUTBOX", "1")], "RELAIS__OUTBOX"),
        (Some("[server"), &[], "relais.toml"),
    ];
    for (text, env, key) in cases {
        let e = load(*text, env).unwrap_err().to_string();
        assert!(e.starts_with(key), "{e:?} should start with {key:?}");
    }
}

#[test]
fn secrets_never_show_in_debug() {
    let s = load(
        Some("[database]\nurl = \"postgres://u:hunter2@db/x\"\n[secrets]\nAPI = \"s3cr3t\""),
        &[],
    )
    .unwrap();
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("hunter2") && !dbg.contains("s3cr3t"), "{dbg}");
    let e = load(Some("[database]\nurl = \"mysql://u:hunter2@db\""), &[])
        .unwrap_err()
        .to_string();
    assert!(!e.contains("hunter2"));
}
