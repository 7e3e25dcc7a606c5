//! Demo data: a believable desk of about two thousand cases over a week, worked by a small team.
//! Everything goes through the same operations the API uses, with a clock moved by hand.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;

use crate::access::identity::{UserInput, create_user};
use crate::access::{Actor, Role};
use crate::appeals::{self, AppealDecisionInput, AppealInput, Appellant};
use crate::clock::ManualClock;
use crate::desk::Desk;
use crate::domain::enforcement::{ActionKind, ActionSpec};
use crate::domain::events::AppealOutcome;
use crate::domain::events::Verdict;
use crate::domain::policy::{Policy, PolicyBook, in_effect};
use crate::domain::report::{NewReport, Reporter, RiskFlag, Source};
use crate::domain::subject::{Snapshot, Subject, SubjectKind};
use crate::enforcement::{self, DecisionInput};
use crate::error::Result;
use crate::review;
use crate::store::cases::Who;
use crate::{intake, store};

pub const DEMO_PASSWORD: &str = "warden-demo-1";

/// (username, role, teams)
pub const DEMO_USERS: &[(&str, Role, &[&str])] = &[
    ("admin", Role::Admin, &[]),
    ("lena.lead", Role::Lead, &["child_safety", "legal"]),
    ("omar.lead", Role::Lead, &[]),
    ("sam.specialist", Role::Specialist, &["child_safety"]),
    ("ana.specialist", Role::Specialist, &[]),
    ("kofi.specialist", Role::Specialist, &[]),
    ("mia.specialist", Role::Specialist, &["legal"]),
    ("quinn.qa", Role::Qa, &[]),
    ("noor.qa", Role::Qa, &[]),
    ("ari.analyst", Role::Analyst, &[]),
    ("ravi.analyst", Role::Analyst, &[]),
    ("lee.legal", Role::Partner, &["legal"]),
    ("pat.policy", Role::Partner, &["public_policy"]),
    ("platform", Role::Integration, &[]),
];

struct AreaSample {
    area: &'static str,
    weight: u32,
    kinds: &'static [SubjectKind],
    texts: &'static [&'static str],
}

const AREAS: &[AreaSample] = &[
    AreaSample {
        area: "spam",
        weight: 18,
        kinds: &[
            SubjectKind::Post,
            SubjectKind::Comment,
            SubjectKind::Account,
        ],
        texts: &[
            "Account posts the same link to a discount site in hundreds of comments.",
            "Comment thread flooded with identical promotional replies.",
        ],
    },
    AreaSample {
        area: "scams.financial",
        weight: 14,
        kinds: &[SubjectKind::Post, SubjectKind::Ad, SubjectKind::Message],
        texts: &[
            "Post promises guaranteed 300% returns on a crypto scheme and asks for wallet transfers.",
            "Message impersonates a bank and asks for a one-time code.",
        ],
    },
    AreaSample {
        area: "harassment.bullying",
        weight: 12,
        kinds: &[
            SubjectKind::Comment,
            SubjectKind::Post,
            SubjectKind::Message,
        ],
        texts: &[
            "Repeated insulting comments aimed at a named classmate.",
            "Coordinated replies mocking a user's appearance.",
        ],
    },
    AreaSample {
        area: "hate_speech",
        weight: 10,
        kinds: &[SubjectKind::Post, SubjectKind::Comment, SubjectKind::Group],
        texts: &[
            "Post describes an ethnic group with dehumanising language.",
            "Group description calls for excluding a religious minority.",
        ],
    },
    AreaSample {
        area: "ip.copyright",
        weight: 9,
        kinds: &[SubjectKind::Video, SubjectKind::Photo],
        texts: &[
            "Video re-uploads a full episode of a broadcaster's series.",
            "Photo is a professional's image with the watermark cropped out.",
        ],
    },
    AreaSample {
        area: "elections.misinformation",
        weight: 7,
        kinds: &[SubjectKind::Post, SubjectKind::Video, SubjectKind::Page],
        texts: &[
            "Post gives a wrong date for the national election.",
            "Video claims ballots can be cast by text message.",
        ],
    },
    AreaSample {
        area: "ads.misleading",
        weight: 6,
        kinds: &[SubjectKind::Ad],
        texts: &["Ad shows a miracle weight-loss product with fabricated before/after claims."],
    },
    AreaSample {
        area: "violence.credible_threat",
        weight: 5,
        kinds: &[
            SubjectKind::Post,
            SubjectKind::Comment,
            SubjectKind::Message,
        ],
        texts: &["Comment names a school and a time and says people there will be hurt."],
    },
    AreaSample {
        area: "self_harm.suicide",
        weight: 4,
        kinds: &[SubjectKind::Post, SubjectKind::Video],
        texts: &["Post says the author plans to end their life tonight."],
    },
    AreaSample {
        area: "privacy.non_consensual_imagery",
        weight: 4,
        kinds: &[SubjectKind::Photo, SubjectKind::Video],
        texts: &["Reporter says an intimate image of them was shared without consent."],
    },
    AreaSample {
        area: "terrorism.propaganda",
        weight: 3,
        kinds: &[SubjectKind::Video, SubjectKind::Account],
        texts: &["Account shares recruitment material of a designated organisation."],
    },
    AreaSample {
        area: "ip.trademark",
        weight: 3,
        kinds: &[SubjectKind::Page, SubjectKind::Ad],
        texts: &["Page sells goods under a sportswear brand's logo without authorisation."],
    },
    AreaSample {
        area: "law.de.netzdg",
        weight: 3,
        kinds: &[SubjectKind::Post, SubjectKind::Comment],
        texts: &["Post reported under German criminal law as incitement to hatred."],
    },
    AreaSample {
        area: "child_safety.exploitation",
        weight: 2,
        kinds: &[SubjectKind::Account, SubjectKind::Message],
        texts: &["Adult account sends sexualised messages to an account that states it is 13."],
    },
    AreaSample {
        area: "legal.court_order",
        weight: 1,
        kinds: &[SubjectKind::Post, SubjectKind::Url],
        texts: &["Court order requires removal of a defamatory post in one country."],
    },
];

const PLACES: &[(&str, &str)] = &[
    ("DE", "de"),
    ("FR", "fr"),
    ("US", "en"),
    ("GB", "en"),
    ("BR", "pt"),
    ("IN", "hi"),
    ("ES", "es"),
    ("AT", "de"),
    ("PL", "pl"),
    ("NG", "en"),
    ("IT", "it"),
    ("MX", "es"),
];

fn pick_source(rng: &mut StdRng, area: &str) -> Source {
    if area.starts_with("ip.") && rng.random_range(0..3) > 0 {
        return Source::RightsHolder;
    }
    if area.starts_with("ads.") && rng.random_range(0..2) == 0 {
        return Source::Advertiser;
    }
    if area == "legal.court_order" {
        return Source::Government;
    }
    match rng.random_range(0..100) {
        0..=54 => Source::User,
        55..=64 => Source::TrustedFlagger,
        65..=69 => Source::Automated,
        70..=74 => Source::Partner,
        75..=78 => Source::Regulator,
        79..=81 => Source::LawEnforcement,
        82..=84 => Source::Government,
        85..=88 => Source::Press,
        89..=93 => Source::Internal,
        _ => Source::Advertiser,
    }
}

pub struct Seeded {
    pub users: Vec<Actor>,
    pub reports: usize,
}

/// The demo policy book: community standards, advertising, intellectual property and national law.
pub const DEMO_POLICIES: &str = include_str!("demo_policies.toml");

/// Imports the demo policy book into the registry.
pub async fn import_policies(desk: &Desk) -> Result<()> {
    let book = PolicyBook::from_toml(DEMO_POLICIES)?;
    crate::policies::import(desk, Who::SYSTEM, &book).await?;
    Ok(())
}

/// Actions a specialist would choose under `policy` for this subject, most common first.
fn demo_actions(
    policy: &Policy,
    kind: SubjectKind,
    has_account: bool,
    rng: &mut StdRng,
    at: DateTime<Utc>,
) -> Vec<ActionSpec> {
    let allowed = |k: ActionKind| policy.allowed_actions.contains(&k);
    let mut actions = Vec::new();
    if kind == SubjectKind::Ad && allowed(ActionKind::RejectAd) {
        actions.push(ActionSpec::new(ActionKind::RejectAd));
    } else if let (Some(j), true) = (&policy.jurisdiction, allowed(ActionKind::GeoBlock)) {
        let mut geo = ActionSpec::new(ActionKind::GeoBlock);
        geo.countries = vec![j.clone()];
        actions.push(geo);
    } else if allowed(ActionKind::Remove) && rng.random_range(0..100) < 75 {
        actions.push(ActionSpec::new(ActionKind::Remove));
    } else if allowed(ActionKind::Label) {
        let mut label = ActionSpec::new(ActionKind::Label);
        label.text = Some("Independent fact-checkers say this is missing context.".into());
        actions.push(label);
    } else if allowed(ActionKind::AgeRestrict) {
        actions.push(ActionSpec::new(ActionKind::AgeRestrict));
    } else if allowed(ActionKind::Demote) {
        let mut demote = ActionSpec::new(ActionKind::Demote);
        demote.until = Some(at + Duration::days(30));
        actions.push(demote);
    }
    if has_account && allowed(ActionKind::Strike) && kind != SubjectKind::Ad {
        actions.push(ActionSpec::new(ActionKind::Strike));
        if allowed(ActionKind::SuspendAccount) && rng.random_range(0..100) < 8 {
            let mut suspend = ActionSpec::new(ActionKind::SuspendAccount);
            suspend.until =
                Some(at + Duration::days(if rng.random_range(0..2) == 0 { 1 } else { 7 }));
            actions.push(suspend);
        }
    }
    if actions.is_empty() {
        actions.push(ActionSpec::new(ActionKind::NoAction));
    }
    actions
}

/// Creates the demo users and `cases` reports' worth of history ending at `now`.
pub async fn seed(desk: &Desk, reports: usize, now: DateTime<Utc>) -> Result<Seeded> {
    seed_with_media(desk, reports, now, "https://media.example.net").await
}

/// As [`seed`], with the reported media served from `media_base` (the demo server's own sample
/// pictures, so the demo needs no internet).
pub async fn seed_with_media(
    desk: &Desk,
    reports: usize,
    now: DateTime<Utc>,
    media_base: &str,
) -> Result<Seeded> {
    let clock = ManualClock::new(now - Duration::days(7));
    let desk = desk.clone().with_clock(Arc::new(clock.clone()));
    let mut actors = Vec::new();
    for (name, role, teams) in DEMO_USERS {
        let password = (*role != Role::Integration).then(|| DEMO_PASSWORD.to_string());
        let display = name.split('.').next().unwrap_or(name);
        let mut display = display.to_string();
        display[..1].make_ascii_uppercase();
        let user = create_user(
            &desk,
            Who::SYSTEM,
            UserInput {
                username: name.to_string(),
                display_name: Some(display),
                role: *role,
                teams: teams.iter().map(|t| t.to_string()).collect(),
                password,
            },
        )
        .await?;
        actors.push(user.actor());
    }
    let by_name = |n: &str| {
        actors
            .iter()
            .find(|a| a.username == n)
            .cloned()
            .expect("demo user exists")
    };
    let platform = by_name("platform");
    let leads = [by_name("lena.lead"), by_name("omar.lead")];
    let specialists = [
        by_name("ana.specialist"),
        by_name("kofi.specialist"),
        by_name("mia.specialist"),
    ];
    let cs_specialist = by_name("sam.specialist");
    let legal = by_name("lee.legal");
    let policy = by_name("pat.policy");

    import_policies(&desk).await?;
    let mut policies: Vec<Vec<Policy>> = Vec::new();
    for r in crate::store::enforcement::all_policies(&desk.db).await? {
        match policies.last_mut() {
            Some(v) if v[0].id == r.policy.id => v.push(r.policy),
            _ => policies.push(vec![r.policy]),
        }
    }
    let mut appealed: Vec<(i64, i64)> = Vec::new();
    let mut rng = StdRng::seed_from_u64(2026);
    let total_weight: u32 = AREAS.iter().map(|a| a.weight).sum();
    let span = Duration::days(7).num_seconds();
    let start = now - Duration::days(7);
    let subjects = (reports as u64 * 4 / 5).max(1);
    let mut case_ids = Vec::new();
    for i in 0..reports {
        let at = start
            + Duration::seconds(span * i as i64 / reports.max(1) as i64 + rng.random_range(0..60));
        clock.set(at);
        let mut w = rng.random_range(0..total_weight);
        let sample = AREAS
            .iter()
            .find(|a| {
                if w < a.weight {
                    true
                } else {
                    w -= a.weight;
                    false
                }
            })
            .unwrap_or(&AREAS[0]);
        let subject_no = rng.random_range(0..subjects);
        // Subjects keep their kind and place, so repeat reports join the same case.
        let mut srng = StdRng::seed_from_u64(subject_no);
        let kind = sample.kinds[srng.random_range(0..sample.kinds.len())];
        let (country, language) = PLACES[srng.random_range(0..PLACES.len())];
        let source = pick_source(&mut rng, sample.area);
        let reach = 10u64.pow(srng.random_range(1..8)) * srng.random_range(1..10);
        let mut flags = Vec::new();
        if (sample.area == "violence.credible_threat" || sample.area == "self_harm.suicide")
            && rng.random_range(0..3) == 0
        {
            flags.push(RiskFlag::ImminentHarm);
        }
        if sample.area.starts_with("child_safety") {
            flags.push(RiskFlag::MinorSafety);
        }
        if sample.area.starts_with("elections") {
            flags.push(RiskFlag::Election);
        }
        if reach > 5_000_000 && rng.random_range(0..4) == 0 {
            flags.push(RiskFlag::HighProfile);
        }
        let report = NewReport {
            subject: Subject {
                kind,
                external_id: format!("{}-{subject_no:06}", kind.as_str()),
                snapshot: Snapshot {
                    text: Some(sample.texts[srng.random_range(0..sample.texts.len())].to_string()),
                    media_urls: if matches!(kind, SubjectKind::Photo | SubjectKind::Video) {
                        vec![format!("{media_base}/photo-{subject_no}.png")]
                    } else {
                        vec![]
                    },
                    pdq_hashes: vec![],
                    author_id: Some(format!(
                        "acct-{:05}",
                        srng.random_range(0..subjects / 3 + 1)
                    )),
                    author_name: None,
                    country: Some(country.to_string()),
                    language: Some(language.to_string()),
                    reach: Some(reach),
                },
            },
            source,
            reporter: Reporter {
                id: format!("{}-{}", source.as_str(), rng.random_range(0..5000)),
                name: None,
                email: None,
                language: None,
            },
            reason: sample.area.to_string(),
            text: Some(format!(
                "Reported via the {} channel.",
                source.as_str().replace('_', " ")
            )),
            jurisdiction: matches!(
                source,
                Source::Regulator | Source::Government | Source::LawEnforcement
            )
            .then(|| country.to_string()),
            requested_deadline: matches!(source, Source::Regulator | Source::LawEnforcement)
                .then(|| at + Duration::hours(rng.random_range(2..72))),
            risk_flags: flags,
            idempotency_key: format!("demo-{i}"),
        };
        let receipt = intake::submit(&desk, &platform, report).await?;
        if receipt.outcome == intake::IntakeOutcome::Opened {
            case_ids.push((receipt.case_id, at));
        }
    }

    // Work the history: most older cases are decided, some wait on partners, newer ones wait in queues.
    for (n, (case_id, opened_at)) in case_ids.iter().enumerate() {
        let age = now - *opened_at;
        let roll = rng.random_range(0..100);
        let Some(case) = store::cases::get_case(&desk.db, *case_id).await? else {
            continue;
        };
        if !case.status.is_queued() {
            continue;
        }
        let worker = if case.restricted_team.as_deref() == Some("child_safety") {
            cs_specialist.clone()
        } else if case.restricted_team.as_deref() == Some("legal") {
            specialists[2].clone()
        } else {
            specialists[n % specialists.len()].clone()
        };
        let lead = &leads[0];
        let decide_chance = if age > Duration::hours(36) {
            85
        } else if age > Duration::hours(8) {
            45
        } else {
            0
        };
        let pickup = *opened_at + Duration::minutes(rng.random_range(5..600));
        if pickup >= now {
            continue;
        }
        if roll < decide_chance {
            clock.set(pickup);
            review::assign(&desk, lead, *case_id, worker.user_id, Some("demo rota")).await?;
            // Decided within the claim's lease, as a specialist working the case would.
            let decided = (pickup + Duration::minutes(rng.random_range(3..25))).min(now);
            clock.set(decided);
            let violating = rng.random_range(0..100) < 62;
            // National law applies where the content is; elsewhere the community standards do.
            let fits = |p: &Policy| {
                p.area.as_deref() == Some(case.policy_area.as_str())
                    && p.jurisdiction
                        .as_deref()
                        .is_none_or(|j| case.snapshot.country.as_deref() == Some(j))
            };
            let fitting: Vec<&Policy> = policies
                .iter()
                .filter_map(|v| in_effect(v, decided.date_naive()))
                .filter(|p| fits(p))
                .collect();
            let policy = (!fitting.is_empty()).then(|| fitting[n % fitting.len()].clone());
            let has_account = enforcement::account_of(&case).is_some();
            let input = match (&policy, violating) {
                (Some(p), true) => {
                    let actions =
                        demo_actions(p, case.subject_kind, has_account, &mut rng, decided);
                    DecisionInput {
                        verdict: Verdict::Violating,
                        policy: Some(p.reference().to_string()),
                        rationale: format!(
                            "The content meets the definition in {} and no exception applies.",
                            p.title
                        ),
                        explanation: Some(format!(
                            "The {} was reviewed by a specialist against our policy \"{}\". It breaks that policy, and no exception (news value, counter-speech, satire) applies.",
                            case.subject_kind.as_str(),
                            p.title
                        )),
                        actions,
                    }
                }
                _ => DecisionInput {
                    verdict: Verdict::NotViolating,
                    policy: policy.as_ref().map(|p| p.reference().to_string()),
                    rationale: "Reviewed in context; the content does not break the cited policy."
                        .to_string(),
                    explanation: None,
                    actions: vec![ActionSpec::new(ActionKind::NoAction)],
                },
            };
            let (decision, _) = enforcement::decide(&desk, &worker, *case_id, &input).await?;
            if decision.state == crate::store::enforcement::DecisionState::AwaitingApproval
                && n % 4 != 0
            {
                // Most held decisions are approved within the hour; a few still wait.
                clock.set((decided + Duration::minutes(rng.random_range(5..60))).min(now));
                let approver = if leads[0].may_see(&case) {
                    &leads[0]
                } else {
                    &leads[1]
                };
                enforcement::approve(&desk, approver, decision.id).await?;
            }
            if decision.restricts && has_account && rng.random_range(0..100) < 6 {
                appealed.push((decision.id, worker.user_id));
            }
        } else if roll < decide_chance + 6 && case.restricted_team.is_none() {
            clock.set(pickup);
            review::assign(&desk, lead, *case_id, worker.user_id, Some("demo rota")).await?;
            let team = if n % 2 == 0 { "legal" } else { "public_policy" };
            let (cid, _) = review::request_consultation(
                &desk,
                &worker,
                *case_id,
                team,
                "Is this lawful speech in the reporter's country, given recent case law?",
                pickup + Duration::hours(24),
            )
            .await?;
            if n % 3 == 0 && pickup + Duration::hours(3) < now {
                clock.set(pickup + Duration::hours(3));
                let partner = if team == "legal" { &legal } else { &policy };
                review::answer_consultation(
                    &desk,
                    partner,
                    cid,
                    "Likely unlawful under local law; removal in that country is justified.",
                )
                .await?;
            }
        } else if roll < decide_chance + 9 && case.restricted_team.is_none() {
            clock.set(pickup);
            review::assign(&desk, lead, *case_id, worker.user_id, Some("demo rota")).await?;
            review::request_info(
                &desk,
                &worker,
                *case_id,
                "Please send the URL of the exact post and the date it was published.",
            )
            .await?;
        }
    }
    // Some affected users appeal; most appeals are decided by a second specialist.
    for (k, (decision_id, decider)) in appealed.iter().enumerate() {
        let Some(d) = crate::store::enforcement::get_decision(&desk.db, *decision_id).await? else {
            continue;
        };
        let (Some(effective), Some(account)) = (d.effective_at, d.account_id.clone()) else {
            continue;
        };
        let filed = effective + Duration::hours(rng.random_range(2..30));
        if filed >= now {
            continue;
        }
        clock.set(filed);
        let appeal = appeals::file(
            &desk,
            &platform,
            &AppealInput {
                decision_id: d.id,
                appellant: Appellant::AffectedUser,
                appellant_id: account,
                statement: "This was satire about a public figure, not an attack on anyone.".into(),
                language: None,
            },
        )
        .await?;
        let Some(appealed_case) = store::cases::get_case(&desk.db, appeal.case_id).await? else {
            continue;
        };
        // Someone other than the decider who may see the case (restricted cases have teams).
        let Some(reviewer) = specialists
            .iter()
            .chain(std::iter::once(&cs_specialist))
            .find(|s| s.user_id != *decider && s.may_see(&appealed_case))
        else {
            continue;
        };
        let picked = filed + Duration::hours(rng.random_range(1..20));
        if k % 3 == 2 || picked >= now {
            continue;
        }
        clock.set(picked);
        review::assign(
            &desk,
            &leads[0],
            appeal.case_id,
            reviewer.user_id,
            Some("appeals rota"),
        )
        .await?;
        clock.set(picked + Duration::minutes(rng.random_range(5..25)));
        let overturn = k % 3 == 1;
        appeals::decide(
            &desk,
            reviewer,
            appeal.id,
            &AppealDecisionInput {
                outcome: if overturn {
                    AppealOutcome::Overturned
                } else {
                    AppealOutcome::Upheld
                },
                rationale: if overturn {
                    "Satire of a public figure; the first review missed the context.".into()
                } else {
                    "The content breaks the policy as written; no exception applies.".into()
                },
                explanation: if overturn {
                    "On a second review we found the post is satire about a public figure. We have restored it and removed the strike.".into()
                } else {
                    "A second specialist reviewed the post and confirmed that it breaks the policy.".into()
                },
                decision: None,
            },
        )
        .await?;
    }
    // A desk asked for no reports (a clean slate for a walkthrough) gets no campaign either.
    let planted = if reports > 0 {
        let campaign = plant_campaign(&desk, &clock, &platform, now).await?;
        campaign
            + plant_known_media(&desk, &clock, &platform, &by_name("admin"), now, media_base)
                .await?
    } else {
        0
    };
    clock.set(now);
    while review::sweep_breaches(&desk).await? > 0 {}
    enforcement::expire_actions(&desk).await?;
    crate::alerts::scan(&desk).await?;
    Ok(Seeded {
        users: actors,
        reports: reports + planted,
    })
}

/// Reports of photos the demo plants for known-media matching.
pub const KNOWN_MEDIA_REPORTS: usize = 4;

/// The demo's banks of known media, built from its own pictures, and the reports of copies of
/// them that intake queues for matching: a re-upload of banked propaganda (removed by the bank's
/// automatic action), one of banked intimate imagery (left for a person, at P1), a copy the
/// platform hashed itself, and an unrelated photo that matches nothing.
async fn plant_known_media(
    desk: &Desk,
    clock: &ManualClock,
    platform: &Actor,
    admin: &Actor,
    now: DateTime<Utc>,
    media_base: &str,
) -> Result<usize> {
    use crate::demo_media::{self, Version};
    use crate::matching::{ListFormat, NewBank, banks};
    clock.set(now - Duration::hours(3));
    let banked = [
        (
            "Confirmed terrorist propaganda",
            "community.dangerous_organisations",
            Some(ActionKind::Remove),
            0..4u64,
        ),
        (
            "Confirmed non-consensual intimate imagery",
            "community.non_consensual_intimate_imagery",
            None,
            4..8u64,
        ),
    ];
    for (name, policy, auto_action, seeds) in banked {
        let bank = banks::create(
            desk,
            admin,
            &NewBank {
                name: name.into(),
                policy: policy.into(),
                description: Some("Built from the demo's own pictures.".into()),
                match_threshold: None,
                auto_action,
            },
        )
        .await?;
        let list: String = seeds
            .map(|seed| format!("{}\n", demo_media::hash(seed).hash))
            .collect();
        banks::import(
            desk,
            admin,
            bank.id,
            &list,
            ListFormat::Text,
            Some("demo hash list"),
        )
        .await?;
    }
    let copy_hash = pdq::hash_image_bytes(&demo_media::png(6, Version::NearCopy))
        .map_err(|e| crate::Error::Internal(format!("a demo picture does not hash: {e}")))?
        .hash
        .to_hex();
    let photos: [(&str, Vec<String>, Vec<String>, &str); 4] = [
        (
            "photo-known-0",
            vec![format!("{media_base}/known-0-copy.png")],
            vec![],
            "terrorism.propaganda",
        ),
        (
            "photo-known-5",
            vec![format!("{media_base}/known-5-copy.png")],
            vec![],
            "privacy.non_consensual_imagery",
        ),
        (
            "photo-known-6",
            vec![],
            vec![copy_hash],
            "privacy.non_consensual_imagery",
        ),
        (
            "photo-unrelated-1",
            vec![format!("{media_base}/photo-1.png")],
            vec![],
            "violence.credible_threat",
        ),
    ];
    for (i, (external_id, media_urls, pdq_hashes, reason)) in photos.iter().enumerate() {
        clock.set(now - Duration::minutes(150 - 20 * i as i64));
        let report = NewReport {
            subject: Subject {
                kind: SubjectKind::Photo,
                external_id: (*external_id).into(),
                snapshot: Snapshot {
                    text: None,
                    media_urls: media_urls.clone(),
                    pdq_hashes: pdq_hashes.clone(),
                    author_id: Some(format!("acct-media-{i}")),
                    author_name: None,
                    country: Some("FR".into()),
                    language: Some("fr".into()),
                    reach: Some(4_000),
                },
            },
            source: Source::User,
            reporter: Reporter {
                id: format!("user-media-{i}"),
                name: None,
                email: None,
                language: None,
            },
            reason: (*reason).into(),
            text: Some("This picture was reported before.".into()),
            jurisdiction: None,
            requested_deadline: None,
            risk_flags: vec![],
            idempotency_key: format!("demo-known-media-{i}"),
        };
        intake::submit(desk, platform, report).await?;
    }
    Ok(photos.len())
}

/// Reporters in the campaign the demo plants in the last complete hour.
pub const CAMPAIGN_REPORTERS: usize = 40;

/// A scam campaign in the hour before `now`: one post pushing a crypto link, reported by
/// [`CAMPAIGN_REPORTERS`] people from Germany, so the desk opens with alerts to look at (a
/// spike of scam reports from DE, a post reported by a crowd, a new link in report text).
async fn plant_campaign(
    desk: &Desk,
    clock: &ManualClock,
    platform: &Actor,
    now: DateTime<Utc>,
) -> Result<usize> {
    let hour = crate::alerts::detect::hour_of(now) - 1;
    let start = crate::alerts::detect::start_of(hour).and_utc();
    for i in 0..CAMPAIGN_REPORTERS {
        clock.set(start + Duration::seconds(i as i64 * 3600 / CAMPAIGN_REPORTERS as i64));
        let report = NewReport {
            subject: Subject {
                kind: SubjectKind::Post,
                external_id: "post-campaign-quickgains".into(),
                snapshot: Snapshot {
                    text: Some(
                        "Turn 100 EUR into 10,000 in a week! Sign up at https://quick-crypto-gains.example/join"
                            .into(),
                    ),
                    media_urls: vec![],
                    pdq_hashes: vec![],
                    author_id: Some("acct-quickgains".into()),
                    author_name: None,
                    country: Some("DE".into()),
                    language: Some("de".into()),
                    reach: Some(250_000),
                },
            },
            source: Source::User,
            reporter: Reporter {
                id: format!("user-campaign-{i}"),
                name: None,
                email: None,
                language: None,
            },
            reason: "scams.financial".into(),
            text: Some(format!(
                "Scam: they took my money at quick-crypto-gains.example ({})",
                ["yesterday", "this morning", "an hour ago", "today"][i % 4]
            )),
            jurisdiction: None,
            requested_deadline: None,
            risk_flags: vec![],
            idempotency_key: format!("demo-campaign-{i}"),
        };
        intake::submit(desk, platform, report).await?;
    }
    Ok(CAMPAIGN_REPORTERS)
}
