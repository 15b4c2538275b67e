"""prepaid_billing.sts documents its public API (purity: tests/test_pure_packages.py)."""


def test_public_api_is_complete():
    import prepaid_billing.sts as sts

    assert all(hasattr(sts, name) for name in sts.__all__)
    assert sts.__doc__ and "Public API" in sts.__doc__


def test_usage_example_in_the_package_docstring_runs():
    import textwrap

    import prepaid_billing.sts as sts

    doc = sts.__doc__
    start = doc.index("Typical use::") + len("Typical use::")
    example = textwrap.dedent(doc[start : doc.index("Public API")])
    exec(compile(example, "prepaid_billing.sts docstring", "exec"), {"print": lambda *a: None})
