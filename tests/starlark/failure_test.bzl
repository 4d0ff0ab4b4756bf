"""An analysis test that expects its target's analysis to fail with given texts."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _analysis_failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for message in ctx.attr.expected_messages:
        asserts.expect_failure(env, message)
    return analysistest.end(env)

analysis_failure_test = analysistest.make(
    _analysis_failure_test_impl,
    expect_failure = True,
    attrs = {"expected_messages": attr.string_list(doc = "Texts the analysis error must contain, each.")},
)
