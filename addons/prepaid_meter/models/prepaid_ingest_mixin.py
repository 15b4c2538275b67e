from datetime import datetime, timezone

from odoo import api, fields, models

from ..tools.ingest_rows import new_summary, pg_arrays


def to_utc_naive(value):
    """Return ``value`` as a naive UTC datetime, or None when it is not a timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, str) and value:
        try:
            return fields.Datetime.to_datetime(value)
        except ValueError:
            return None
    return None


class PrepaidIngestMixin(models.AbstractModel):
    """Set-based ingestion of batches of rows about meters (readings, events, load profile).

    A model parses its rows into columns with :func:`..tools.ingest_rows.collect_rows`, then
    stores them with its own ``INSERT ... ON CONFLICT DO NOTHING`` statement, which also
    returns the meter ids of the batch that do not exist; this mixin does the rest: access to
    the meters, flushing, the rows of unknown meters and the counters of the summary.

    Inherited in Python, like ``models.Model``: ``class X(PrepaidIngestMixin, models.Model)``.
    Not in the registry (no ``ir.model`` record, hence no model name to translate).
    """

    _register = False

    # Fields of prepaid.meter that the model's ingestion statements read.
    _ingest_meter_fields = ("company_id",)

    @api.model
    def _flush_ingest_inputs(self):
        """Flush what the ingestion statements read behind the ORM's back."""
        self.env["prepaid.meter"].flush_model(list(self._ingest_meter_fields))
        self.flush_model()

    @api.model
    def _ingest_check_meters(self, meter_ids):
        """Check that the user may read the existing meters among ``meter_ids`` (the statement
        writes as superuser); unknown ids are rejected row by row afterwards."""
        if not self.env.su:
            self.env["prepaid.meter"].browse(set(meter_ids)).exists().check_access("read")

    @api.model
    def _ingest_account(self, summary, columns, unknown):
        """Complete ``summary`` once ``summary["inserted"]`` is known: reject the rows of the
        meters ``unknown`` to the database, count the other rows not inserted as duplicates
        (already stored)."""
        unknown_rows = 0
        if unknown:
            for position, meter_id in enumerate(columns["meter_ids"]):
                if meter_id in unknown:
                    unknown_rows += 1
                    summary["errors"].append(
                        (
                            columns["indexes"][position],
                            self.env._("Unknown meter id %(meter)s.", meter=meter_id),
                        )
                    )
        summary["rejected"] = len(summary["errors"])
        summary["duplicates"] += len(columns["meter_ids"]) - summary["inserted"] - unknown_rows

    @api.model
    def _ingest_columns(self, prepared, query, raw=()):
        """Store the rows ``prepared`` by :func:`..tools.ingest_rows.collect_rows` with one
        statement; return the summary ``{"received", "inserted", "duplicates", "rejected",
        "errors"}``.

        :param str query: takes one array per column (named as the column, ``indexes``
            aside), ``uid`` and ``now``; returns one row: the number of rows inserted and the
            array of the batch's meter ids that do not exist (or NULL).
        :param raw: the columns of free text, passed as lists for psycopg2 to quote.
        """
        summary = new_summary(prepared)
        columns = prepared["columns"]
        if not columns["meter_ids"]:
            return summary
        self._ingest_check_meters(columns["meter_ids"])
        self._flush_ingest_inputs()
        self.env.cr.execute(
            query,
            {**pg_arrays(columns, raw), "uid": self.env.uid, "now": fields.Datetime.now()},
        )
        summary["inserted"], unknown = self.env.cr.fetchone()
        self._ingest_account(summary, columns, set(unknown or []))
        self.invalidate_model()
        return summary
