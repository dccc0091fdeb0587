//! Deleting many rows a batch at a time, so that no one statement holds its locks, or
//! grows its transaction, for long.

use std::future::Future;

/// Rows one statement of a batched delete removes at most.
pub const DELETE_BATCH: i64 = 10_000;

/// Runs `delete` (a statement removing at most [`DELETE_BATCH`] rows, answering how many
/// it removed) until a batch comes back short. How many rows went in all.
pub async fn delete_in_batches<F, Fut>(mut delete: F) -> Result<u64, sqlx::Error>
where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    let mut deleted = 0;
    loop {
        let batch = delete(DELETE_BATCH).await?;
        deleted += batch;
        if batch < DELETE_BATCH as u64 {
            return Ok(deleted);
        }
    }
}
