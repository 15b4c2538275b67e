"""prepaid_meter.tools documents its public API (purity: tests/test_pure_packages.py)."""


def test_public_api_is_complete():
    from prepaid_meter.tools import tariff_engine

    assert all(hasattr(tariff_engine, name) for name in tariff_engine.__all__)
    assert "Public API" in tariff_engine.__doc__ and "Rounding" in tariff_engine.__doc__
