//! Reading a tracker's samples for an export: one row per poll time with a value per
//! metric, in time order, a page at a time. Each page is one short query (a keyset read
//! per metric through the `(metric_id, t)` key), and the connection goes back to the pool
//! between pages, so a client that reads slowly holds no connection while it waits.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use crate::domain::MetricId;

/// Samples read per metric per page.
const PAGE: i64 = 2_000;

/// The rows of an export, read as they are asked for.
pub struct ExportRows {
    pool: PgPool,
    metric_ids: Vec<MetricId>,
    to: DateTime<Utc>,
    metrics: Vec<MetricCursor>,
}

/// Where the read of one metric stands.
struct MetricCursor {
    /// Read from this time on (inclusive).
    from: DateTime<Utc>,
    /// Read but not yet returned.
    buffered: VecDeque<(DateTime<Utc>, f64)>,
    /// Nothing more to read.
    done: bool,
}

/// One row of an export: a time and the value of each metric then (in the order asked).
pub type ExportRow = (DateTime<Utc>, Vec<Option<f64>>);

impl ExportRows {
    /// The samples of `metric_ids` between `from` and `to`, both inclusive.
    pub fn new(
        pool: PgPool,
        metric_ids: Vec<MetricId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Self {
        let metrics = metric_ids
            .iter()
            .map(|_| MetricCursor {
                from,
                buffered: VecDeque::new(),
                done: false,
            })
            .collect();
        Self {
            pool,
            metric_ids,
            to,
            metrics,
        }
    }

    /// The next row, or `None` after the last.
    pub async fn next_row(&mut self) -> Result<Option<ExportRow>, sqlx::Error> {
        // Every metric that may have more must have some read, so that the earliest time
        // read is the earliest there is.
        self.refill().await?;
        let Some(time) = self
            .metrics
            .iter()
            .filter_map(|metric| metric.buffered.front().map(|(t, _)| *t))
            .min()
        else {
            return Ok(None);
        };
        let values = self
            .metrics
            .iter_mut()
            .map(|metric| match metric.buffered.front() {
                Some((t, value)) if *t == time => {
                    let value = *value;
                    metric.buffered.pop_front();
                    Some(value)
                }
                _ => None,
            })
            .collect();
        Ok(Some((time, values)))
    }

    /// Reads the next page of every metric whose buffer is empty and that may have more,
    /// in one query.
    async fn refill(&mut self) -> Result<(), sqlx::Error> {
        let wanted: Vec<usize> = (0..self.metrics.len())
            .filter(|&index| {
                let metric = &self.metrics[index];
                !metric.done && metric.buffered.is_empty()
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let indexes: Vec<i32> = wanted.iter().map(|&index| index as i32).collect();
        let ids: Vec<MetricId> = wanted.iter().map(|&index| self.metric_ids[index]).collect();
        let froms: Vec<DateTime<Utc>> = wanted
            .iter()
            .map(|&index| self.metrics[index].from)
            .collect();
        let rows = sqlx::query!(
            r#"SELECT m.idx AS "idx!", s.t AS "t!", s.value AS "value!"
               FROM unnest($1::integer[], $2::integer[], $3::timestamptz[]) AS m(idx, id, after)
               CROSS JOIN LATERAL (
                   SELECT t, value FROM samples
                   WHERE metric_id = m.id AND t >= m.after AND t <= $4
                   ORDER BY t LIMIT $5
               ) s
               ORDER BY m.idx, s.t"#,
            &indexes,
            &ids as &[MetricId],
            &froms,
            self.to,
            PAGE,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut read = vec![0i64; self.metrics.len()];
        for row in rows {
            let (index, t, value) = (row.idx, row.t, row.value);
            let Ok(index) = usize::try_from(index) else {
                continue;
            };
            let (Some(metric), Some(count)) = (self.metrics.get_mut(index), read.get_mut(index))
            else {
                continue;
            };
            metric.buffered.push_back((t, value));
            // PostgreSQL keeps microseconds: the next read starts just after this one.
            metric.from = t + TimeDelta::microseconds(1);
            *count += 1;
        }
        for &index in &wanted {
            if read[index] < PAGE {
                self.metrics[index].done = true;
            }
        }
        Ok(())
    }
}
