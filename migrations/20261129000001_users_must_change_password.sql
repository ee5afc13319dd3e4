-- An account whose password someone else chose (the first admin a deploy creates): until its
-- owner changes it, every route but the password change answers 403.
ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
