//! The checks of relais.toml's sections that are more than a value each: the
//! lifecycle (`[inactivity]`, `[handoff]`, also used by the Settings page through
//! `crate::tunable`), `[nlu]`, `[retention]`, `[privacy]`, `[costs]`, `[sla]`,
//! `[escalation]`. Each error names its key.

use super::*;

/// `[inactivity]` and `[handoff]`: the human side of the ticket lifecycle (also laid
/// over by the Settings page, `crate::tunable`).
pub(crate) fn lifecycle(
    inactivity: RawInactivity,
    handoff: RawHandoff,
) -> Result<Lifecycle, Error> {
    let raw = (inactivity, handoff);
    let remind_after = duration("inactivity.remind", raw.0.remind, Duration::minutes(10))?;
    let close_after = duration("inactivity.close", raw.0.close, Duration::minutes(30))?;
    if close_after <= remind_after {
        return Err(key_err(
            "inactivity.close",
            "must be longer than inactivity.remind",
        ));
    }
    let close_status = match raw.0.close_status.as_deref() {
        None | Some("solved") => relais_core::ticket::Status::Solved,
        Some("pending") => relais_core::ticket::Status::Pending,
        Some(s) => {
            return Err(key_err(
                "inactivity.close_status",
                format!("{s:?} is not one of solved, pending"),
            ));
        }
    };
    Ok(Lifecycle {
        remind_after,
        close_after,
        close_status,
        auto_close: duration("handoff.auto_close", raw.1.auto_close, Duration::days(4))?,
        return_after: match raw.1.return_after.as_deref() {
            Some("off") => None,
            other => Some(duration(
                "handoff.return_after",
                other.map(str::to_owned),
                Duration::minutes(15),
            )?),
        },
        away_limit: match raw.1.away_limit.as_deref() {
            Some("off") => None,
            other => Some(duration(
                "handoff.away_limit",
                other.map(str::to_owned),
                Duration::minutes(15),
            )?),
        },
        return_on_offline: raw.1.return_on_offline.unwrap_or(true),
        idle_after: match raw.1.idle_after.as_deref() {
            Some("off") => None,
            other => Some(duration(
                "handoff.idle_after",
                other.map(str::to_owned),
                Duration::minutes(30),
            )?),
        },
        csat: raw.1.csat.unwrap_or(true),
    })
}

pub(super) fn nlu(raw: &RawNlu) -> Result<relais_flow::understand::Thresholds, Error> {
    let mut t = relais_flow::understand::Thresholds::default();
    let within = |key: &str, v: f32, lo: f32, hi: f32| {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(key_err(key, format!("must be between {lo} and {hi}")))
        }
    };
    if let Some(v) = raw.intent_threshold {
        t.intent_threshold = within("nlu.intent_threshold", v, -2.0, 2.0)?;
    }
    if let Some(v) = raw.intent_min_similarity {
        t.intent_min_similarity = within("nlu.intent_min_similarity", v, -1.0, 1.0)?;
    }
    if let Some(v) = raw.answer_min_score {
        t.answer_min_score = within("nlu.answer_min_score", v, 0.0, 2.0)?;
    }
    Ok(t)
}

pub(super) fn retention(raw: &RawRetention) -> Result<Option<Retention>, Error> {
    let how = match raw.transcripts.as_deref() {
        None | Some("erase") => relais_store::Forget::Erase,
        Some("anonymise" | "anonymize") => relais_store::Forget::Anonymise,
        Some(other) => {
            return Err(key_err(
                "retention.transcripts",
                format!("{other:?} is not one of erase, anonymise"),
            ));
        }
    };
    let Some(after) = raw.transcripts_after.clone() else {
        if raw.transcripts.is_some() || raw.check_every.is_some() {
            return Err(key_err(
                "retention.transcripts_after",
                "is missing: say after how long (\"365d\") closed conversations are forgotten",
            ));
        }
        return Ok(None);
    };
    let transcripts_after = duration("retention.transcripts_after", Some(after), Duration(0))?;
    if transcripts_after < Duration::days(1) {
        return Err(key_err(
            "retention.transcripts_after",
            "must be at least 1d (a shorter time would erase conversations agents still work on)",
        ));
    }
    let check_every = duration(
        "retention.check_every",
        raw.check_every.clone(),
        Duration::hours(1),
    )?;
    if check_every < Duration::minutes(1) {
        return Err(key_err("retention.check_every", "must be at least 1m"));
    }
    Ok(Some(Retention {
        transcripts_after,
        how,
        check_every,
    }))
}

pub(super) fn privacy_mask(raw: &RawPrivacy) -> Result<Vec<relais_core::privacy::Kind>, Error> {
    let mut out = Vec::new();
    for (i, name) in raw.mask.iter().flatten().enumerate() {
        match relais_core::privacy::Kind::parse(name) {
            Some(k) if relais_core::privacy::Kind::MASKABLE.contains(&k) => {
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            _ => {
                return Err(key_err(
                    &format!("privacy.mask[{i}]"),
                    format!("{name:?} is not one of card, iban"),
                ));
            }
        }
    }
    Ok(out)
}

pub(super) fn privacy_region(raw: &RawPrivacy) -> Result<Option<String>, Error> {
    match raw.region.as_deref().map(str::trim) {
        None => Ok(None),
        Some(r)
            if !r.is_empty()
                && r.len() <= 64
                && r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(Some(r.to_owned()))
        }
        Some(r) => Err(key_err(
            "privacy.region",
            format!("{r:?} is not a region name (letters, digits, - and _, like \"eu-west-1\")"),
        )),
    }
}

pub(crate) fn reports_costs(raw: &RawCosts) -> Result<Option<relais_core::kpi::Costs>, Error> {
    for (key, v) in [
        ("costs.per_conversation", raw.per_conversation),
        ("costs.agent_hour", raw.agent_hour),
    ] {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(key_err(key, "must be a number, zero or more"));
        }
    }
    Ok(
        (raw.per_conversation.is_some() || raw.agent_hour.is_some()).then(|| {
            relais_core::kpi::Costs {
                per_conversation: raw.per_conversation.unwrap_or(0.0),
                agent_hour: raw.agent_hour.unwrap_or(0.0),
            }
        }),
    )
}

pub(crate) fn reports_sla(raw: RawSla) -> Result<relais_core::kpi::Sla, Error> {
    let first_response = match raw.first_response {
        None => None,
        Some(t) => Some(duration("sla.first_response", Some(t), Duration(0))?),
    };
    let mut teams = std::collections::HashMap::new();
    for (team, t) in raw.teams {
        let d = duration(&format!("sla.teams.{team}"), Some(t), Duration(0))?;
        teams.insert(team, d);
    }
    Ok(relais_core::kpi::Sla {
        first_response,
        teams,
    })
}

pub(super) fn escalation(raw: RawEscalation) -> Result<Escalation, Error> {
    let mut e = Escalation::default();
    if let Some(n) = raw.max_failures {
        if !(1..=100).contains(&n) {
            return Err(key_err(
                "escalation.max_failures",
                "must be between 1 and 100",
            ));
        }
        e.max_failures = n;
    }
    if let Some(t) = raw.vip_tiers {
        e.vip_tiers = t;
    }
    match raw.vip_action.as_deref() {
        None => {}
        Some("escalate") => e.vip_action = VipAction::Escalate,
        Some("priority") => e.vip_action = VipAction::Priority,
        Some(other) => {
            return Err(key_err(
                "escalation.vip_action",
                format!("{other:?} is not one of escalate, priority"),
            ));
        }
    }
    e.default_team = raw.default_team;
    if let Some(v) = raw.sensitive_intents {
        e.sensitive_intents = v;
    }
    if let Some(v) = raw.sensitive_keywords {
        e.sensitive_keywords = v;
    }
    if let Some(t) = raw.sentiment_threshold {
        if !(-1.0..=1.0).contains(&t) {
            return Err(key_err(
                "escalation.sentiment_threshold",
                "must be between -1 and 1",
            ));
        }
        e.sentiment_threshold = t;
    }
    if let Some(f) = raw.frustration_model {
        e.frustration_model = f;
    }
    if let Some(k) = raw.keywords {
        e.keywords = k.into_iter().collect();
    }
    Ok(e)
}
