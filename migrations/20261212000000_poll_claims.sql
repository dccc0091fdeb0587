-- Short poll leases renewed by a heartbeat: `leased_until` is when a claim runs out unless
-- renewed; `claimed_at` tells one claim of a source from a later one (the lease's end no
-- longer can, since renewing moves it).
ALTER TABLE sources ADD COLUMN claimed_at timestamptz;
UPDATE sources SET claimed_at = leased_until WHERE leased_until IS NOT NULL;
