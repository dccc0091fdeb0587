//! Ids as types: a tracker id cannot be passed where a workspace id is wanted, and a
//! malformed one is refused while decoding (a path, a query, a server function's
//! arguments). Each is its UUID or its integer in JSON, URLs and the database.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema), sqlx(transparent))]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text.trim()).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A workspace's tracker.
    TrackerId
);
uuid_id!(
    /// A workspace: what owns trackers, tokens and a plan.
    WorkspaceId
);
uuid_id!(
    /// A user.
    UserId
);
uuid_id!(
    /// A workspace's notification channel (an email address, a webhook…) that alerts go to.
    ChannelId
);
uuid_id!(
    /// An alert rule: a tracker's metric, a condition and the channels it notifies.
    AlertRuleId
);
uuid_id!(
    /// One firing of an alert rule (an alert event), stored with the values that caused it.
    AlertEventId
);
uuid_id!(
    /// A message of the outbox (`email_outbox`).
    EmailId
);
uuid_id!(
    /// A workspace's push source: numbers it sends in itself, under their own token.
    PushSourceId
);
uuid_id!(
    /// A workspace's sink: where new samples of its trackers are forwarded.
    SinkId
);
uuid_id!(
    /// A workspace's watch: a container upstream whose new items become trackers.
    WatchId
);

macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident($integer:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema), sqlx(transparent))]
        pub struct $name(pub $integer);

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.trim().parse().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

integer_id!(
    /// A source: one thing upstream, shared by the trackers of every workspace
    /// (`sources.id`, a bigint).
    SourceId(i64)
);
integer_id!(
    /// A metric of a source (`source_metrics.id`, an integer).
    MetricId(i32)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_their_uuid_in_text_and_json() {
        let text = "3f2a4c1e-8b7d-4e2f-9a1b-0c5d6e7f8a9b";
        let id: TrackerId = text.parse().expect("an id");
        assert_eq!(id.to_string(), text);
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            format!("\"{text}\"")
        );
        assert!("not-an-id".parse::<TrackerId>().is_err());
        assert!(serde_json::from_str::<WorkspaceId>("\"42\"").is_err());
    }

    #[test]
    fn integer_ids_are_their_number_in_text_and_json() {
        let id: SourceId = " 42 ".parse().expect("an id");
        assert_eq!(id, SourceId(42));
        assert_eq!(id.to_string(), "42");
        assert_eq!(serde_json::to_string(&MetricId(7)).expect("json"), "7");
        assert!("4x".parse::<MetricId>().is_err());
        assert!(serde_json::from_str::<SourceId>("\"42\"").is_err());
    }
}
