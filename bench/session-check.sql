-- The session check every authenticated request makes first (shared/src/auth/session.rs).
-- bench/harness.py runs it followed by bench/tickets-list.sql as one pgbench transaction: all
-- the SQL one list request sends.
SELECT u.id, u.email,
                COALESCE(array_agg(ur.role ORDER BY ur.role) FILTER (WHERE ur.role IS NOT NULL), '{}'),
                u.must_change_password
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         LEFT JOIN user_roles ur ON ur.user_id = u.id
         WHERE s.id = :session AND s.user_id = :user AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active
         GROUP BY u.id;
