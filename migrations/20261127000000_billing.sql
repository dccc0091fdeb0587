-- Plans, what each workspace pays for (mirrored from Stripe), and Stripe's webhook events.

-- The plans and their limits: the one place they are defined. A plan's Stripe price is a
-- setting (UPCOUNT_STRIPE_PRICE_PRO, UPCOUNT_STRIPE_PRICE_BUSINESS), matched by id.
CREATE TABLE plans (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z]+$'),
    name                text NOT NULL,
    -- Order on the pricing page; a higher rank has higher limits.
    rank                integer NOT NULL UNIQUE,
    -- US cents a month, shown on the pricing page (Stripe's price is what is charged).
    price_cents         integer NOT NULL CHECK (price_cents >= 0),
    max_trackers        integer NOT NULL CHECK (max_trackers >= 0),
    min_interval_secs   integer NOT NULL CHECK (min_interval_secs >= 60),
    -- Raw samples are kept this long; older data stays as rollups.
    raw_retention_days  integer NOT NULL CHECK (raw_retention_days >= 1),
    max_api_tokens      integer NOT NULL CHECK (max_api_tokens >= 0),
    max_alert_rules     integer NOT NULL CHECK (max_alert_rules >= 0)
);
INSERT INTO plans (id, name, rank, price_cents, max_trackers, min_interval_secs,
                   raw_retention_days, max_api_tokens, max_alert_rules)
VALUES ('free', 'Free', 0, 0, 5, 3600, 30, 2, 3),
       ('pro', 'Pro', 1, 1200, 100, 300, 365, 20, 50),
       ('business', 'Business', 2, 4900, 1000, 60, 1095, 100, 500);

-- The plan whose limits apply to the workspace now, kept by the billing code from the
-- subscription's state (and from support's override).
ALTER TABLE workspaces ADD COLUMN plan_id text NOT NULL DEFAULT 'free' REFERENCES plans (id);

-- The workspace's Stripe customer and subscription, as last read from Stripe.
CREATE TABLE workspace_billing (
    workspace_id          uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    -- Created once, on the first checkout, and reused.
    stripe_customer_id    text UNIQUE,
    subscription_id       text,
    -- Stripe's status: active, trialing, past_due, unpaid, canceled, incomplete,
    -- incomplete_expired, paused.
    subscription_status   text,
    -- The plan the subscription's price stands for.
    subscription_plan     text REFERENCES plans (id),
    current_period_end    timestamptz,
    cancel_at_period_end  boolean NOT NULL DEFAULT false,
    -- When a payment failure was first seen; the grace period counts from here.
    past_due_since        timestamptz,
    -- Support's `upcount admin set-plan`: wins over the subscription while set.
    plan_override         text REFERENCES plans (id),
    synced_at             timestamptz,
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workspace_billing_subscription ON workspace_billing (subscription_id);
CREATE TRIGGER workspace_billing_set_updated_at BEFORE UPDATE ON workspace_billing
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Trackers the plan paused (newest first when over the limit) and intervals it raised,
-- so that both come back when the plan does.
ALTER TABLE trackers
    ADD COLUMN paused_by_plan boolean NOT NULL DEFAULT false,
    ADD COLUMN interval_before_plan integer;

-- Every webhook event received, by Stripe's id: a duplicate delivery finds its row and
-- changes nothing. Processed by the `stripe_event` job.
CREATE TABLE stripe_events (
    id            text PRIMARY KEY,
    type          text NOT NULL,
    -- Stripe's `created`.
    created       timestamptz NOT NULL,
    livemode      boolean NOT NULL DEFAULT false,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processed', 'ignored', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    attempted_at  timestamptz,
    error         text,
    processed_at  timestamptz,
    workspace_id  uuid REFERENCES workspaces (id) ON DELETE SET NULL
);
CREATE INDEX stripe_events_received_at ON stripe_events (received_at DESC);
CREATE INDEX stripe_events_workspace ON stripe_events (workspace_id, received_at DESC);
