"""What the test callbacks share: scikit-learn's callback protocol, doing nothing.

A test callback subclasses :class:`SilentCallback` and overrides only the
hook it cares about (usually ``on_fit_task_end``).
"""


class SilentCallback:
    """A scikit-learn callback whose every hook does nothing and never stops."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False
