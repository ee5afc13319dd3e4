-- Meter-triggered PM: finding the plans a reading may fire, and the audit rows of readings.

-- "Which active plans watch a meter of this name?" (every reading batch asks).
CREATE INDEX pm_plans_meter_name_idx ON pm_plans ((meter_trigger ->> 'meter_name'))
    WHERE active AND meter_trigger IS NOT NULL;

-- "The plan's last PM on this asset" by when it was due to start (a meter PM starts at the
-- reading that fired it).
CREATE INDEX pm_occurrences_last_pm_idx ON pm_occurrences (plan_id, asset_id, scheduled_for)
    WHERE outcome = 'generated';
