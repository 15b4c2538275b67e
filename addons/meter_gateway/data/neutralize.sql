-- A copied database (staging, support) must never talk to the production meters: no gateway
-- is polled or sent commands, and the commands waiting are cancelled.
UPDATE meter_gateway SET poll_enabled = false, active = false, lease_until = NULL, lease_owner = NULL;
UPDATE meter_command SET state = 'cancelled' WHERE state IN ('queued', 'retry', 'sending');
UPDATE ir_cron SET active = false
 WHERE id IN (SELECT res_id FROM ir_model_data
               WHERE module = 'meter_gateway' AND model = 'ir.cron'
                 AND name = 'meter_gateway_cron_run');
