from odoo import fields, models


class PrepaidMeterModel(models.Model):
    _name = "prepaid.meter.model"
    _description = "Meter Model"

    name = fields.Char(required=True)
    manufacturer = fields.Char()
    utility = fields.Selection(
        [("electricity", "Electricity"), ("water", "Water")], required=True, default="electricity"
    )
    protocol = fields.Selection(
        [
            ("modbus_rtu", "Modbus RTU"),
            ("modbus_tcp", "Modbus TCP"),
            ("dlms", "DLMS/COSEM"),
            ("dlt645", "DL/T 645-2007"),
            ("none", "None (manual reading)"),
        ],
        required=True,
        default="none",
    )
    has_relay = fields.Boolean()
    has_valve = fields.Boolean()
    has_meter_balance = fields.Boolean()
    has_sts_keypad = fields.Boolean()
    has_tou_registers = fields.Boolean()
