"""Counters of related records for smart buttons, in one grouped query per recordset."""


def set_related_counts(records, count_field, comodel, inverse_field, domain=()):
    """Set ``records[count_field]`` to the number of ``comodel`` rows whose ``inverse_field``
    is the record (and that match ``domain``), with one ``_read_group`` for all of them."""
    counts = dict(
        records.env[comodel]._read_group(
            [(inverse_field, "in", records.ids), *domain],
            groupby=[inverse_field],
            aggregates=["__count"],
        )
    )
    for record in records:
        record[count_field] = counts.get(record._origin, 0)
