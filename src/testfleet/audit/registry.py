"""The registry of the audit's rules: id, severity and a one-line definition of each.

The rules themselves are in ``rules`` (per test) and ``filerules`` (per file).
"""

from __future__ import annotations

from testfleet.audit.model import Rule, Severity

H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule(
            "cannot-fail",
            H,
            "The test has no effective check: no non-trivial assert, no pytest.raises/warns, "
            "no assert-method or assert_* call, no explicit fail or raise.",
        ),
        Rule("placeholder", H, "The body is only pass, ..., a docstring or raise NotImplementedError."),
        Rule(
            "trivial-assert",
            H,
            "An assertion is always true: a truthy literal, a non-empty tuple/string/"
            "container, 'x or True', a comparison of two literals, or 'x is x' (not "
            "'x == x': a custom __eq__ or NaN can make it false).",
        ),
        Rule(
            "weak-assert",
            L,
            "Every check is weak: 'is not None', hasattr/callable, truthiness of a "
            "constructor call's result, or len(...) > 0 (isinstance is not: real suites test "
            "types on purpose).",
        ),
        Rule(
            "mock-only",
            H,
            "Every effective check concerns only mocks the test created (assert_* methods; "
            "called/call_count/call_args/mock_calls); none reads the unit's result or state.",
        ),
        Rule(
            "did-not-crash",
            M,
            "Every effective check is 'is not None' or isinstance of a value the test just "
            "built by a call, or truthiness of a constructor's result: the test fails "
            "only if the call raises.",
        ),
        Rule(
            "constant-assert",
            H,
            "Every effective check compares constants only: literals, module ALL_CAPS "
            "names the test does not assign, or names it bound to a literal and uses "
            "nowhere else.",
        ),
        Rule(
            "swallowed-failure",
            H,
            "A try/except whose handler passes/logs catches any failure (bare, "
            "Exception, BaseException) or AssertionError around checks, or the only checks "
            "are inside except blocks. A narrow handler (AttributeError) is not reported.",
        ),
        Rule(
            "broad-raises",
            M,
            "pytest.raises/assertRaises(Exception or BaseException) without match= and "
            "without inspecting the exception.",
        ),
        Rule(
            "sleep-sync",
            M,
            "time.sleep/asyncio.sleep with a literal delay in a test, outside a polling loop.",
        ),
        Rule(
            "mock-overuse",
            M,
            "More than MOCK_THRESHOLD patches apply to the test, or the test patches the "
            "function of the module under test that it then calls.",
        ),
        Rule(
            "unittest-in-pytest",
            L,
            "unittest-style assertX calls in a pytest-style test, or a file that mixes "
            "unittest.TestCase classes with pytest-style tests (file-level).",
        ),
        Rule(
            "duplicated-setup",
            L,
            "The same literal (>= 3 elements) or the same 3-statement setup block "
            "appears in DUP_MIN_TESTS or more tests of one file.",
        ),
        Rule(
            "unconditional-skip",
            M,
            "skip/xfail with no reason and no condition (decorator, module pytestmark, "
            "or a top-level pytest.skip()/skipTest() call), or expectedFailure.",
        ),
        Rule("print-not-assert", M, "The test prints values but has no effective check."),
        Rule(
            "parse-error",
            H,
            "The file could not be read or parsed (syntax error, encoding, size); it was "
            "skipped (file-level).",
        ),
    ]
}
