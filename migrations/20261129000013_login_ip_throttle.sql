-- The login throttle per address beside the one per e-mail: a failed login records the caller's
-- IP (API Gateway's source IP; NULL where there is none, e.g. the local runner), and many failures
-- from one address across many e-mails are refused with 429 (functions/auth/src/throttle.rs).
ALTER TABLE login_failures ADD COLUMN ip inet;
CREATE INDEX login_failures_ip_idx ON login_failures (ip, failed_at) WHERE ip IS NOT NULL;
