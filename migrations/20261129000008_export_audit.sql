-- Exports to S3 are audited (who took a copy of which list, with which filters).
ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_entity_type_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_entity_type_check
    CHECK (entity_type IN ('user', 'location', 'asset', 'ticket', 'approval', 'sla_rule', 'sla_calendar', 'sla_event',
                           'jobcard', 'pm_plan', 'meter', 'checklist', 'visit', 'attachment', 'export'));
