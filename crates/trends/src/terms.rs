//! Emerging terms: words and web hosts that suddenly appear in many texts of one bucket
//! although they were never or rarely seen before.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::counts::CountDistribution;

/// Words shorter than this (in characters) are dropped.
pub const MIN_WORD_CHARS: usize = 3;

/// Frequent words of English and of the other languages most reports are written in, and URL
/// debris; none of them names a trend.
const STOP_WORDS: &[&str] = &[
    // English
    "the",
    "and",
    "for",
    "are",
    "but",
    "not",
    "you",
    "all",
    "any",
    "can",
    "had",
    "her",
    "was",
    "one",
    "our",
    "out",
    "has",
    "have",
    "him",
    "his",
    "how",
    "its",
    "may",
    "new",
    "now",
    "see",
    "two",
    "who",
    "did",
    "get",
    "got",
    "let",
    "say",
    "she",
    "too",
    "use",
    "that",
    "this",
    "with",
    "from",
    "they",
    "will",
    "would",
    "there",
    "their",
    "what",
    "about",
    "which",
    "when",
    "your",
    "were",
    "been",
    "more",
    "some",
    "them",
    "than",
    "then",
    "into",
    "only",
    "just",
    "also",
    "over",
    "very",
    "such",
    "these",
    "those",
    "here",
    "where",
    "while",
    "after",
    "before",
    "because",
    "could",
    "should",
    "other",
    "being",
    "does",
    "doing",
    "each",
    "few",
    "most",
    "own",
    "same",
    "so",
    "why",
    "off",
    "again",
    "further",
    "once",
    "both",
    "between",
    "through",
    "during",
    "under",
    "above",
    "below",
    "until",
    "against",
    "yours",
    "ours",
    "hers",
    "theirs",
    "itself",
    "myself",
    "yourself",
    "himself",
    "herself",
    "themselves",
    "ourselves",
    "am",
    "is",
    "an",
    "as",
    "at",
    "be",
    "by",
    "do",
    "if",
    "in",
    "it",
    "me",
    "my",
    "no",
    "of",
    "on",
    "or",
    "to",
    "up",
    "us",
    "we",
    "im",
    "ive",
    "dont",
    "didnt",
    "doesnt",
    "isnt",
    "wasnt",
    "cant",
    "wont",
    "yes",
    "please",
    "like",
    "know",
    "want",
    "still",
    "even",
    "much",
    "many",
    "well",
    // German
    "der",
    "die",
    "das",
    "und",
    "ist",
    "nicht",
    "ein",
    "eine",
    "einen",
    "mit",
    "von",
    "den",
    "dem",
    "des",
    "sich",
    "auf",
    "für",
    "auch",
    "ich",
    "sie",
    "wir",
    "ihr",
    "aber",
    "oder",
    "wie",
    "bei",
    "nach",
    "noch",
    "nur",
    "schon",
    "wenn",
    "dass",
    "aus",
    "hat",
    "sind",
    "war",
    // French
    "les",
    "des",
    "une",
    "est",
    "pas",
    "que",
    "qui",
    "pour",
    "dans",
    "sur",
    "avec",
    "par",
    "plus",
    "mais",
    "son",
    "ses",
    "aux",
    "nous",
    "vous",
    "ils",
    "elle",
    "cette",
    "sont",
    // Spanish
    "los",
    "las",
    "del",
    "por",
    "con",
    "una",
    "para",
    "como",
    "pero",
    "sus",
    "este",
    "esta",
    // URL debris
    "http",
    "https",
    "www",
    "html",
    "htm",
    "php",
];

/// Second-level labels under which registrations happen one level deeper (`shop.example.co.uk`
/// is registered as `example.co.uk`).
const SECOND_LEVELS: &[&str] = &[
    "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "nic", "ltd", "plc",
];

/// The distinct terms of a text, in order of first appearance: web hosts (from URLs, bare
/// domains and e-mail addresses) reduced to their registrable part, and words lowercased, with
/// stop-words, words under [`MIN_WORD_CHARS`] characters and numbers dropped.
pub fn extract_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    let mut push = |term: String| {
        if seen.insert(term.clone()) {
            terms.push(term);
        }
    };
    for chunk in text.split_whitespace() {
        let chunk = chunk.trim_matches(|c: char| !c.is_alphanumeric());
        if chunk.is_empty() {
            continue;
        }
        if let Some(host) = host_of(chunk) {
            push(host);
            continue;
        }
        for word in chunk.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if word.chars().count() < MIN_WORD_CHARS
                || word.chars().all(|c| c.is_numeric())
                || STOP_WORDS.contains(&word.as_str())
            {
                continue;
            }
            push(word);
        }
    }
    terms
}

/// The registrable host of a chunk that is a URL, a bare domain or an e-mail address.
fn host_of(chunk: &str) -> Option<String> {
    let lower = chunk.to_ascii_lowercase();
    let (rest, explicit) = if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        (rest, true)
    } else if lower.starts_with("www.") {
        (lower.as_str(), true)
    } else if let Some((_, domain)) = lower.split_once('@') {
        (domain, false)
    } else {
        (lower.as_str(), false)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    let host = authority
        .split(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return None;
    }
    if labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit())) {
        // A dotted IPv4 address is its own registrable host; a bare number like 3.14 is not one.
        return (explicit && labels.len() == 4).then(|| host.to_owned());
    }
    let top = labels[labels.len() - 1];
    if top.len() < 2 || !top.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if !explicit {
        // Without a scheme, "end.Next" in sloppy prose is a sentence break, not a host: a bare
        // domain must be written in lower case at its end.
        let original_top = chunk
            .split(['/', '?', '#', ':'])
            .next()
            .and_then(|h| h.rsplit('.').next())
            .unwrap_or("");
        if original_top.chars().any(|c| c.is_uppercase()) {
            return None;
        }
    }
    let labels: Vec<&str> = match labels.first() {
        Some(first) if labels.len() > 2 && (*first == "www" || *first == "m") => {
            labels[1..].to_vec()
        }
        _ => labels,
    };
    let keep =
        if labels.len() >= 3 && top.len() == 2 && SECOND_LEVELS.contains(&labels[labels.len() - 2])
        {
            3
        } else {
            2
        };
    Some(labels[labels.len().saturating_sub(keep)..].join("."))
}

/// How the [`EmergingTerms`] tracker scores and remembers terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmergingTermsConfig {
    /// At most this many terms are remembered; when full, the tenth least used is forgotten.
    pub capacity: usize,
    /// A term must appear in at least this many texts of the bucket to be flagged.
    pub min_texts: u32,
    /// A term is flagged when its score (1 − P(at least this many texts)) reaches this.
    pub threshold: f64,
    /// Half-life, in buckets, of a term's share of texts.
    pub half_life_buckets: f64,
    /// Share of texts expected to contain any one term never or rarely seen: the floor of every
    /// expectation, so a term unseen before is not infinitely surprising.
    pub background_share: f64,
    /// Over-dispersion of term counts relative to a Poisson.
    pub dispersion: f64,
    /// Nothing is flagged in the first buckets, while every term is new.
    pub warm_up_buckets: u64,
}

impl Default for EmergingTermsConfig {
    fn default() -> Self {
        Self {
            capacity: 50_000,
            min_texts: 5,
            threshold: 0.9999,
            half_life_buckets: 24.0 * 7.0,
            background_share: 1e-3,
            dispersion: 0.5,
            warm_up_buckets: 24,
        }
    }
}

/// A term flagged as rising in one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RisingTerm {
    /// The term: a word or a registrable host.
    pub term: String,
    /// Texts of the bucket containing it.
    pub texts: u32,
    /// Texts expected to contain it given its history.
    pub expected: f64,
    /// `1 − P(at least this many texts)`.
    pub score: f64,
    /// Never seen before (or forgotten since).
    pub new: bool,
}

#[derive(Debug, Clone, Copy)]
struct TermHistory {
    /// Share of texts containing the term, as of bucket `updated`.
    share: f64,
    updated: u64,
}

/// Tracks the share of texts containing each term and flags terms whose count in a bucket is
/// far above it. Memory is bounded by the capacity; each bucket costs time in proportion to the
/// terms in it.
#[derive(Debug, Clone)]
pub struct EmergingTerms {
    config: EmergingTermsConfig,
    history: HashMap<String, TermHistory>,
    buckets: u64,
}

impl EmergingTerms {
    /// A tracker that has seen nothing.
    pub fn new(config: EmergingTermsConfig) -> Self {
        Self {
            config,
            history: HashMap::new(),
            buckets: 0,
        }
    }

    /// Terms remembered now.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// No term remembered.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Extracts the terms of each text of the next bucket and scores them; returns the rising
    /// ones, most surprising first.
    pub fn observe_texts<'a, I>(&mut self, texts: I) -> Vec<RisingTerm>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let terms: Vec<Vec<String>> = texts.into_iter().map(extract_terms).collect();
        self.observe_terms(&terms)
    }

    /// As [`EmergingTerms::observe_texts`], with the rising terms that arrive together (in
    /// mostly the same texts: one campaign's link, its wording, its currency) gathered into one
    /// [`RisingGroup`] each, most surprising first.
    pub fn observe_texts_grouped<'a, I>(&mut self, texts: I) -> Vec<RisingGroup>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let terms: Vec<Vec<String>> = texts.into_iter().map(extract_terms).collect();
        let rising = self.observe_terms(&terms);
        group_rising(rising, &terms)
    }

    fn observe_terms(&mut self, terms: &[Vec<String>]) -> Vec<RisingTerm> {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for text in terms {
            for term in text {
                *counts.entry(term.clone()).or_insert(0) += 1;
            }
        }
        let total = u32::try_from(terms.len()).unwrap_or(u32::MAX);
        self.observe_counts(counts, total)
    }

    /// Scores the next bucket given how many of its `texts` contain each term; returns the
    /// rising terms, most surprising first.
    pub fn observe_counts(&mut self, counts: HashMap<String, u32>, texts: u32) -> Vec<RisingTerm> {
        let bucket = self.buckets;
        self.buckets += 1;
        let texts_f = f64::from(texts.max(1));
        let keep = 0.5f64.powf(1.0 / self.config.half_life_buckets.max(1e-9));
        // Every share is an exponential average that started at zero with the tracker; dividing
        // by the weight accumulated since then keeps young averages from reading low.
        let accumulated = 1.0 - keep.powf(bucket as f64);
        let mut rising = Vec::new();
        for (term, count) in counts {
            let past = self.history.get(&term).copied();
            let share = past.map_or(0.0, |h| decayed(h, bucket, keep));
            let unbiased = if accumulated > 0.0 {
                share / accumulated
            } else {
                0.0
            };
            let expected = unbiased.max(self.config.background_share) * texts_f;
            let distribution = CountDistribution::new(expected, self.config.dispersion);
            let score = (1.0 - distribution.upper_tail(f64::from(count))).clamp(0.0, 1.0);
            if bucket >= self.config.warm_up_buckets
                && count >= self.config.min_texts
                && score >= self.config.threshold
            {
                rising.push(RisingTerm {
                    term: term.clone(),
                    texts: count,
                    expected,
                    score,
                    new: past.is_none(),
                });
            }
            let observed = f64::from(count) / texts_f;
            self.history.insert(
                term,
                TermHistory {
                    share: share * keep + observed * (1.0 - keep),
                    updated: bucket + 1,
                },
            );
        }
        self.evict(bucket + 1, keep);
        rising.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.texts.cmp(&a.texts))
                .then(a.term.cmp(&b.term))
        });
        rising
    }

    fn evict(&mut self, now: u64, keep: f64) {
        if self.history.len() <= self.config.capacity {
            return;
        }
        // Forget a tenth at once, so that eviction costs O(log n) per term on average.
        let target = self.config.capacity - self.config.capacity / 10;
        let mut by_use: Vec<(f64, String)> = self
            .history
            .iter()
            .map(|(term, h)| (decayed(*h, now, keep), term.clone()))
            .collect();
        by_use.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let excess = self.history.len() - target;
        for (_, term) in by_use.into_iter().take(excess) {
            self.history.remove(&term);
        }
    }
}

/// Rising terms that arrived together: the one that names the trend best, and the others seen
/// in mostly the same texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RisingGroup {
    /// A web host if there is one (the most specific thing to act on), else the most surprising.
    pub lead: RisingTerm,
    /// The other terms, most surprising first.
    pub with: Vec<String>,
    /// Texts containing any term of the group.
    pub texts: u32,
}

/// Two rising terms belong together when this share of the texts of the rarer one also hold
/// the other.
pub const TOGETHER: f64 = 0.8;

/// Gathers rising terms by the texts they share (see [`TOGETHER`]): each group is led by its
/// best name, and every term joins the first group whose lead it mostly shares texts with.
pub fn group_rising(rising: Vec<RisingTerm>, texts: &[Vec<String>]) -> Vec<RisingGroup> {
    let rising_terms: HashSet<&str> = rising.iter().map(|r| r.term.as_str()).collect();
    let mut holders: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (i, text) in texts.iter().enumerate() {
        for term in text {
            if rising_terms.contains(term.as_str()) {
                holders.entry(term.as_str()).or_default().insert(i);
            }
        }
    }
    let empty = HashSet::new();
    let held = |t: &str| holders.get(t).unwrap_or(&empty);
    let mut order = rising;
    let is_host = |t: &RisingTerm| t.term.contains('.');
    order.sort_by(|a, b| {
        is_host(b)
            .cmp(&is_host(a))
            .then(b.score.total_cmp(&a.score))
            .then(b.texts.cmp(&a.texts))
            .then(a.term.cmp(&b.term))
    });
    let mut groups: Vec<(RisingTerm, Vec<RisingTerm>, HashSet<usize>)> = Vec::new();
    for term in order {
        let mine = held(&term.term);
        let home = groups.iter_mut().find(|(lead, _, _)| {
            let theirs = held(&lead.term);
            let shared = mine.intersection(theirs).count() as f64;
            let rarer = mine.len().min(theirs.len()).max(1) as f64;
            shared / rarer >= TOGETHER
        });
        match home {
            Some((_, with, union)) => {
                union.extend(mine.iter().copied());
                with.push(term);
            }
            None => groups.push((term, Vec::new(), mine.clone())),
        }
    }
    let mut out: Vec<RisingGroup> = groups
        .into_iter()
        .map(|(lead, mut with, union)| {
            with.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.term.cmp(&b.term)));
            RisingGroup {
                texts: u32::try_from(union.len())
                    .unwrap_or(u32::MAX)
                    .max(lead.texts),
                lead,
                with: with.into_iter().map(|t| t.term).collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.lead
            .score
            .total_cmp(&a.lead.score)
            .then(b.texts.cmp(&a.texts))
            .then(a.lead.term.cmp(&b.lead.term))
    });
    out
}

/// The share of a term as of bucket `now`, with the buckets since its update counted as zeros.
fn decayed(history: TermHistory, now: u64, keep: f64) -> f64 {
    let idle = now.saturating_sub(history.updated);
    history.share * keep.powf(idle as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rising(term: &str, texts: u32, score: f64) -> RisingTerm {
        RisingTerm {
            term: term.into(),
            texts,
            expected: 0.1,
            score,
            new: true,
        }
    }

    #[test]
    fn terms_of_one_campaign_are_one_group_led_by_its_link() {
        let campaign = |i: usize| {
            let mut t = vec![
                "crypto".to_string(),
                "gains.example".into(),
                "wallet".into(),
            ];
            if i.is_multiple_of(2) {
                t.push("urgent".into());
            }
            t
        };
        let mut texts: Vec<Vec<String>> = (0..10).map(campaign).collect();
        // A second, unrelated rise in other texts.
        texts.extend((0..6).map(|_| vec!["election".to_string(), "ballot".into()]));
        texts.push(vec!["wallet".into()]);
        let groups = group_rising(
            vec![
                rising("wallet", 11, 0.99999),
                rising("crypto", 10, 0.99995),
                rising("gains.example", 10, 0.9999),
                rising("urgent", 5, 0.9999),
                rising("election", 6, 0.99999),
                rising("ballot", 6, 0.99998),
            ],
            &texts,
        );
        assert_eq!(groups.len(), 2, "{groups:?}");
        let link = groups
            .iter()
            .find(|g| g.lead.term == "gains.example")
            .unwrap();
        assert_eq!(link.with, ["wallet", "crypto", "urgent"]);
        assert_eq!(link.texts, 11, "any term of the group counts its text");
        let vote = groups.iter().find(|g| g.lead.term == "election").unwrap();
        assert_eq!(vote.with, ["ballot"]);
    }

    #[test]
    fn terms_in_different_texts_stay_apart() {
        let texts = vec![
            vec!["alpha".to_string()],
            vec!["alpha".to_string()],
            vec!["beta".to_string()],
            vec!["beta".to_string(), "alpha".into()],
        ];
        let groups = group_rising(
            vec![rising("alpha", 3, 0.9999), rising("beta", 2, 0.9999)],
            &texts,
        );
        assert_eq!(groups.len(), 2, "half the texts shared is not together");
    }

    #[test]
    fn words_are_lowercased_and_filtered() {
        assert_eq!(
            extract_terms("The SCAM is on: pay 500 euros to me, NOW! Pay pay."),
            vec!["scam", "pay", "euros"]
        );
    }

    #[test]
    fn urls_are_reduced_to_their_registrable_host() {
        assert_eq!(
            extract_terms("buy at https://www.Scam-Shop.example/deals?id=4 now"),
            vec!["buy", "scam-shop.example"]
        );
        assert_eq!(
            extract_terms("see http://login.secure.bank-verify.co.uk:8080/x"),
            vec!["bank-verify.co.uk"]
        );
        assert_eq!(
            extract_terms("(scam-shop.example/promo)."),
            vec!["scam-shop.example"]
        );
        assert_eq!(
            extract_terms("write to payouts@fast-cash.example"),
            vec!["write", "fast-cash.example"]
        );
        assert_eq!(
            extract_terms("http://192.168.0.1/admin"),
            vec!["192.168.0.1"]
        );
    }

    #[test]
    fn sentence_breaks_and_numbers_are_not_hosts() {
        assert_eq!(
            extract_terms("it ended.Next time"),
            vec!["ended", "next", "time"]
        );
        assert_eq!(extract_terms("pi is 3.14 e.g. here"), Vec::<String>::new());
    }

    #[test]
    fn non_latin_words_are_kept() {
        assert_eq!(
            extract_terms("Betrug über Überweisung"),
            vec!["betrug", "über", "überweisung"]
        );
    }

    fn bucket(tracker: &mut EmergingTerms, texts: &[String]) -> Vec<RisingTerm> {
        tracker.observe_texts(texts.iter().map(String::as_str))
    }

    fn ordinary(i: usize) -> String {
        let words = [
            "account", "locked", "password", "refund", "delivery", "payment",
        ];
        format!(
            "my {} was {} again, {}",
            words[i % 6],
            words[(i + 1) % 6],
            words[(i + 3) % 6]
        )
    }

    fn warmed_up() -> EmergingTerms {
        let mut tracker = EmergingTerms::new(EmergingTermsConfig::default());
        for b in 0..50 {
            let texts: Vec<String> = (0..200).map(|i| ordinary(i + b)).collect();
            assert!(bucket(&mut tracker, &texts).is_empty(), "bucket {b}");
        }
        tracker
    }

    #[test]
    fn nothing_is_flagged_during_warm_up() {
        let mut tracker = EmergingTerms::new(EmergingTermsConfig::default());
        let texts: Vec<String> = (0..200).map(ordinary).collect();
        assert!(bucket(&mut tracker, &texts).is_empty());
        assert!(tracker.len() >= 6);
    }

    #[test]
    fn a_new_term_in_many_texts_is_flagged_once_it_appears() {
        let mut tracker = warmed_up();
        let mut texts: Vec<String> = (0..200).map(ordinary).collect();
        for text in texts.iter_mut().take(30) {
            text.push_str(" pay at https://scam-shop.example/now");
        }
        let rising = bucket(&mut tracker, &texts);
        let mut names: Vec<&str> = rising.iter().map(|r| r.term.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["pay", "scam-shop.example"]);
        assert!(rising.iter().all(|r| r.new && r.texts == 30));
    }

    #[test]
    fn a_familiar_term_doubling_its_share_is_not_flagged() {
        let mut tracker = warmed_up();
        // "refund" is in half of all texts; here it is in every one.
        let texts: Vec<String> = (0..200)
            .map(|i| format!("{} refund", ordinary(i)))
            .collect();
        assert!(bucket(&mut tracker, &texts).is_empty());
    }

    #[test]
    fn a_new_term_in_few_texts_is_not_flagged() {
        let mut tracker = warmed_up();
        let mut texts: Vec<String> = (0..200).map(ordinary).collect();
        for text in texts.iter_mut().take(4) {
            text.push_str(" zorblax");
        }
        assert!(bucket(&mut tracker, &texts).is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let config = EmergingTermsConfig {
            capacity: 100,
            ..EmergingTermsConfig::default()
        };
        let mut tracker = EmergingTerms::new(config);
        for b in 0..50 {
            let texts: Vec<String> = (0..20).map(|i| format!("word{b}x{i} steady")).collect();
            bucket(&mut tracker, &texts);
            assert!(tracker.len() <= 100);
        }
        // The term in every text is the last to be forgotten.
        let steady = tracker.history.contains_key("steady");
        assert!(steady);
    }
}
