from hypothesis import settings, Phase
from .test_saga_planted_bug import SagaMachineSkippingDedup
T = SagaMachineSkippingDedup.TestCase
T.settings = settings(max_examples=300, stateful_step_count=40, database=None, derandomize=True, deadline=None)
