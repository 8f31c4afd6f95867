//! The schedule methods: a job created on every tick of a cron expression. They need a user
//! or admin secret; a user secret sees and deletes only the schedules it created.

use hero_supervisor_api::methods::names;
use hero_supervisor_api::schedule::Schedule;

use crate::client::{arg, text};
use crate::{ClientError, SupervisorClient};

impl SupervisorClient {
    /// Creates `schedule` (`schedules.create`): from the next tick of its `cron` on (5 fields,
    /// or 6 with seconds first; UTC), each tick creates and queues one job from its `job`,
    /// owned by `secret`. Returns the schedule as stored, with its `next_tick`.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidParams`] for a bad name, cron expression or job, a job with an
    /// id, or when the store holds `[limits] max_schedules` schedules;
    /// [`ClientError::Conflict`] when the name is taken; [`ClientError::NotFound`] or
    /// [`ClientError::Unauthorized`] for the job's runner, as [`jobs_create`](Self::jobs_create).
    pub async fn schedules_create(
        &self,
        secret: &str,
        schedule: Schedule,
    ) -> Result<Schedule, ClientError> {
        self.call(names::SCHEDULES_CREATE, [text(secret), arg(&schedule)?])
            .await
    }

    /// The schedules `secret` may see, by name (`schedules.list`): with a user secret its own,
    /// with an admin secret every one.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a secret that is neither a user nor an admin secret.
    pub async fn schedules_list(&self, secret: &str) -> Result<Vec<Schedule>, ClientError> {
        self.call(names::SCHEDULES_LIST, [text(secret)]).await
    }

    /// Deletes the schedule `name` (`schedules.delete`): no tick creates a job after this
    /// returns; the jobs already created stay.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] when no schedule has that name, or another user's has.
    pub async fn schedules_delete(&self, secret: &str, name: &str) -> Result<(), ClientError> {
        self.call(names::SCHEDULES_DELETE, [text(secret), text(name)])
            .await
    }
}
