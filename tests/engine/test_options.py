"""SamplingOptions from stored settings: what an imported or hand-edited chat may hold."""

from __future__ import annotations

from app.engine.options import SamplingOptions


def test_values_round_trip() -> None:
    s = SamplingOptions(temperature=0.0, top_p=0.9, top_k=0, max_tokens=12, seed=7)
    assert SamplingOptions.from_dict(s.to_dict()) == s
    assert SamplingOptions.from_dict({"temperature": 1, "max_tokens": 64.0}) == SamplingOptions(
        temperature=1.0, max_tokens=64
    )


def test_values_of_the_wrong_kind_keep_their_defaults() -> None:
    # These reached the sampler and the reply failed with "The engine failed: '<' not supported
    # between instances of 'int' and 'str'. Reload the model to continue." (reloading didn't help).
    s = SamplingOptions.from_dict(
        {
            "temperature": "hot",
            "top_p": None,
            "top_k": 2.5,
            "max_tokens": True,
            "seed": float("nan"),
            "unknown": 1,
        }
    )
    assert s == SamplingOptions()
    assert isinstance(s.temperature, float) and isinstance(s.max_tokens, int)
