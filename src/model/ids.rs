//! Newtype indices into the topology's vectors. Reports show names, never these numbers.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the owning vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of the element at `index` of the owning vector.
            pub fn from_index(index: usize) -> Self {
                Self(u32::try_from(index).expect("topology sizes are bounded by the loader"))
            }
        }
    };
}

id!(
    /// An Active Directory site.
    SiteId
);
id!(
    /// An IP site link.
    LinkId
);
id!(
    /// An Exchange server (Mailbox, Front End or Edge).
    ServerId
);
id!(
    /// A Send connector, explicit or implicit (`EdgeSync - <site> to Internet`).
    ConnectorId
);
id!(
    /// A transport rule.
    RuleId
);
id!(
    /// A database availability group.
    DagId
);
id!(
    /// A delivery group of Mailbox servers: a DAG, or the servers of one Exchange major version
    /// in one AD site (reference §1.3).
    GroupId
);
