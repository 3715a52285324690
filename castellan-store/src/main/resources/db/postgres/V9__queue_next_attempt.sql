-- The engine's timer asks for the earliest time a queued recipient becomes due: its next attempt,
-- or its lease's end when that is later (PgQueue.nextAttempt). min() over that expression read
-- every queued recipient (about 0.3 s for 66,000 of them); in this index's order the first
-- recipient of a message not held is the answer, read in well under a millisecond.
CREATE INDEX queue_recipients_next ON queue_recipients ((greatest(next_attempt, lease_until)), id)
    WHERE state = 'QUEUED';
