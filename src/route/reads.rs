//! What routing read of the Send connectors while it decided, for `check`'s incremental re-check
//! of fixes (issue 17).
//!
//! A candidate fix changes Send connectors only (sources, a new connector, outbound proxy).
//! `check` records, for each unit of its analysis, every [`Read`] its routes made of the
//! connectors; a changed copy of the topology leaves a unit's answer as it was unless one of
//! those reads would read something else there. The reads are kept at the grain that tells fixes
//! apart: adding one site's servers to a connector changes what `SourcesIn(connector, that site)`
//! and `Sources(connector)` read, not what `SourcesIn(connector, another site)` read.
//!
//! Recording is per thread and off unless [`recorded`] runs: the simulation engine, which calls
//! the same routing, pays one thread-local check per connector selection.

use std::cell::{Cell, RefCell};

use crate::model::{ConnectorId, ServerId, SiteId};

/// One thing routing read of the connectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Read {
    /// Connector selection ran on this Transport service for the route's domain and size: it
    /// read, for every connector, whether it matches, is enabled, is visible from here
    /// (scoping), is large enough, and its cost, proximity, hops and name as seen from here.
    Selection(ServerId),
    /// Whether the connector's source servers are Edge servers (it then relays to the Edge).
    EdgeSourced(ConnectorId),
    /// The connector's source servers in this site (the targets in its primary site, whether
    /// the routing server is one of them, the servers preferred in a hub site on the way).
    SourcesIn(ConnectorId, SiteId),
    /// Every source server of the connector: the fallback to its other sites when the primary
    /// site's are unreachable, or its Edge servers.
    Sources(ConnectorId),
    /// The connector's own settings (outbound proxy, TLS, DNS routing and smart hosts, its name
    /// in messages): it is on the route.
    Settings(ConnectorId),
    /// Every enabled connector: a route whose support is unknown lets the failure search try
    /// every component.
    AllComponents,
}

thread_local! {
    static LOG: RefCell<Option<Vec<Read>>> = const { RefCell::new(None) };
    /// Whether [`recorded`] runs on this thread (a plain flag: cheaper to test than the log).
    static ON: Cell<bool> = const { Cell::new(false) };
}

/// Whether reads are being recorded on this thread.
pub fn active() -> bool {
    ON.with(Cell::get)
}

/// Notes a read, when [`recorded`] runs on this thread.
pub fn note(read: Read) {
    if !active() {
        return;
    }
    LOG.with(|log| {
        if let Some(reads) = log.borrow_mut().as_mut() {
            reads.push(read);
        }
    });
}

/// Runs `f` and returns what routing read of the connectors meanwhile, on this thread, sorted
/// and without duplicates. A `recorded` inside another gives its reads to both.
pub fn recorded<T>(f: impl FnOnce() -> T) -> (T, Vec<Read>) {
    let outer = LOG.with(|log| log.borrow_mut().replace(Vec::new()));
    let was_on = ON.with(|on| on.replace(true));
    let out = f();
    ON.with(|on| on.set(was_on));
    let mut reads = LOG
        .with(|log| log.borrow_mut().take())
        .expect("set above and only taken here");
    reads.sort_unstable();
    reads.dedup();
    if let Some(mut outer) = outer {
        outer.extend_from_slice(&reads);
        LOG.with(|log| *log.borrow_mut() = Some(outer));
    }
    (out, reads)
}
