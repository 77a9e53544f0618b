"""Assertion rewriting for the shared helpers of these tests (pytest shows
the difference when an expected request does not match)."""

import pytest

pytest.register_assert_rewrite("tests.procedures.wire")
