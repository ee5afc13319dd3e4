-- A password change ends every other session of the user.
ALTER TABLE sessions DROP CONSTRAINT sessions_revoked_reason_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_revoked_reason_check
    CHECK (revoked_reason IN ('logout', 'refresh_token_reuse', 'user_deactivated', 'admin', 'password_change'));
