//! Group commit: requests of one kind (intake, claims) that arrive while a transaction is being
//! committed wait for the next one and go into it together. Nothing waits on purpose: under light
//! load a group is one request, under heavy load groups grow and one synced commit serves them
//! all.
//!
//! The kind of work says how to run a group in one transaction and how to run a request alone.
//! When a group as a whole fails (it lost a race with another group, or the database went away),
//! its requests are answered as if each had come alone, or, without a database, all at once.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::store::Engine;

/// Requests waiting for a group; past this, senders wait for room (backpressure, not loss).
const WAITING_REQUESTS: usize = 4096;

/// A kind of work that can be committed in groups.
pub trait Work: Send + Sync + 'static {
    type Request: Send + Sync + 'static;
    type Answer: Send + 'static;
    /// Its name in metrics (`warden_group_size{work=…}`).
    const NAME: &'static str;
    /// How much one group may carry, in [`Work::weight`]s. It bounds how long a group holds the
    /// database (SQLite's one writer above all), and with it how long anyone else waits behind it.
    const MAX_WEIGHT: usize;

    /// A request's share of a group (the reports of an intake request, say).
    fn weight(request: &Self::Request) -> usize;

    /// How many groups may commit side by side on this engine.
    fn committers(engine: Engine) -> usize;

    /// The whole group in one transaction: an answer per request (a refusal is an answer), or an
    /// error that spoiled the transaction.
    fn together(
        desk: &Desk,
        group: &[&Self::Request],
    ) -> impl Future<Output = Result<Vec<Result<Self::Answer>>>> + Send;

    /// One request in a transaction of its own, run again if it lost a race.
    fn alone(
        desk: &Desk,
        request: &Self::Request,
    ) -> impl Future<Output = Result<Self::Answer>> + Send;
}

struct Pending<W: Work> {
    request: W::Request,
    answer: oneshot::Sender<Result<W::Answer>>,
}

/// The committers of one kind of work, started with its first request. Cloning shares them.
pub struct GroupCommit<W: Work> {
    requests: Arc<OnceLock<mpsc::Sender<Pending<W>>>>,
}

impl<W: Work> Default for GroupCommit<W> {
    fn default() -> Self {
        Self {
            requests: Arc::default(),
        }
    }
}

impl<W: Work> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            requests: Arc::clone(&self.requests),
        }
    }
}

impl<W: Work> GroupCommit<W> {
    /// Runs the request in a group with whatever else of its kind is arriving.
    pub async fn run(&self, desk: &Desk, request: W::Request) -> Result<W::Answer> {
        let requests = self.requests.get_or_init(|| start::<W>(desk));
        let (answer, answered) = oneshot::channel();
        match requests.send(Pending { request, answer }).await {
            Ok(()) => answered
                .await
                .map_err(|_| Error::Internal(format!("the {} committer stopped", W::NAME)))?,
            // The committers are gone with the runtime that started them (a desk carried over to
            // another runtime): the request runs on its own.
            Err(mpsc::error::SendError(pending)) => W::alone(desk, &pending.request).await,
        }
    }
}

fn start<W: Work>(desk: &Desk) -> mpsc::Sender<Pending<W>> {
    let (sender, receiver) = mpsc::channel(WAITING_REQUESTS);
    let receiver = Arc::new(Mutex::new(receiver));
    // The committers hold a desk without anyone's senders, so they end when the last desk that
    // can send to them is dropped.
    let own = desk.for_committers();
    for _ in 0..W::committers(desk.db.engine).max(1) {
        tokio::spawn(commit_groups::<W>(own.clone(), Arc::clone(&receiver)));
    }
    sender
}

async fn commit_groups<W: Work>(desk: Desk, receiver: Arc<Mutex<mpsc::Receiver<Pending<W>>>>) {
    while let Some(group) = next_group::<W>(&receiver).await {
        if let Some(reason) = commit::<W>(&desk, group).await {
            // The requests that queued while this group waited for the database would only wait
            // as long again for the same answer: they hear it now.
            let mut waiting = receiver.lock().await;
            while let Ok(pending) = waiting.try_recv() {
                let _ = pending.answer.send(Err(unavailable(&reason)));
            }
        }
    }
}

fn unavailable(reason: &str) -> Error {
    Error::Unavailable(sqlx::Error::Io(std::io::Error::other(reason.to_string())))
}

/// Waits for a request, then takes every other one already waiting, up to the group's weight.
async fn next_group<W: Work>(
    receiver: &Mutex<mpsc::Receiver<Pending<W>>>,
) -> Option<Vec<Pending<W>>> {
    let mut receiver = receiver.lock().await;
    let first = receiver.recv().await?;
    let mut weight = W::weight(&first.request);
    let mut group = vec![first];
    while weight < W::MAX_WEIGHT {
        let Ok(next) = receiver.try_recv() else {
            break;
        };
        weight += W::weight(&next.request);
        group.push(next);
    }
    Some(group)
}

/// Commits a group and answers its requests; says why when the database was unavailable.
async fn commit<W: Work>(desk: &Desk, mut group: Vec<Pending<W>>) -> Option<String> {
    if group.len() == 1 {
        let Pending { request, answer } = group.pop().expect("a group of one");
        let answered = W::alone(desk, &request).await;
        let gone = match &answered {
            Err(Error::Unavailable(e)) => Some(e.to_string()),
            _ => None,
        };
        // The requester may have gone (a client that hung up); the work is done all the same.
        let _ = answer.send(answered);
        return gone;
    }
    let weight = group.iter().map(|p| W::weight(&p.request)).sum::<usize>();
    metrics::histogram!("warden_group_size", "work" => W::NAME).record(weight as f64);
    let requests: Vec<&W::Request> = group.iter().map(|p| &p.request).collect();
    match W::together(desk, &requests).await {
        // A request left without an answer hears that the committer stopped.
        Ok(answers) => {
            for (pending, answer) in group.into_iter().zip(answers) {
                let _ = pending.answer.send(answer);
            }
            None
        }
        // Without a database there is nothing to retry now: everyone hears so at once.
        Err(Error::Unavailable(e)) => {
            let reason = e.to_string();
            for pending in group {
                let _ = pending.answer.send(Err(unavailable(&reason)));
            }
            Some(reason)
        }
        // A lost race or a failed statement: each request again on its own, so each gets its own
        // answer (a race simply runs again).
        Err(_) => {
            for pending in group {
                let answer = W::alone(desk, &pending.request).await;
                let _ = pending.answer.send(answer);
            }
            None
        }
    }
}
