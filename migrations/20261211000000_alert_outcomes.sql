-- An email alert delivery is not "sent" when it enters the outbox but when the mail
-- server takes it: the delivery waits as `mailing` and the `send_email` job records its
-- outcome (sent, or failed with the server's answer, which counts against the channel).
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_state_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_state_check
    CHECK (state IN ('queued', 'sent', 'retrying', 'mailing', 'failed'));
ALTER TABLE email_outbox
    ADD COLUMN alert_delivery_id bigint REFERENCES alert_deliveries (id) ON DELETE SET NULL;
CREATE INDEX email_outbox_alert_delivery ON email_outbox (alert_delivery_id)
    WHERE alert_delivery_id IS NOT NULL;

-- A channel that keeps failing is marked failing after three deliveries given up in a
-- row, or once its failed attempts in a row have gone on for an hour (a webhook that
-- answers 500 is retried for a day: its owner should not wait that long to hear of it).
ALTER TABLE alert_channels ADD COLUMN failing_attempts_since timestamptz;

-- Rule limits: Free 3, Pro 100, Business 1,000 (the pricing page reads them from here).
UPDATE plans SET max_alert_rules = 100 WHERE id = 'pro' AND max_alert_rules = 50;
UPDATE plans SET max_alert_rules = 1000 WHERE id = 'business' AND max_alert_rules = 500;
