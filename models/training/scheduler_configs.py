"""Scheduler configs of public pipelines, as their scheduler_config.json files carry them.

Callers: scripts/sdxl-fixture.py (writes SDXL's into test/fixtures/sdxl-tiny) and
test/fixtures/schedulers/make_fixtures.py (the reference values for SDXL and SDXL-Turbo). Plain
data, no torch: the scheduler fixture script runs on NumPy alone.
"""

# stabilityai/stable-diffusion-xl-base-1.0 (public model repo), without its "_diffusers_version"
SDXL_SCHEDULER_CONFIG = {
    "_class_name": "EulerDiscreteScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "sample_max_value": 1.0,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "use_karras_sigmas": False,
}
# stabilityai/sdxl-turbo
SDXL_TURBO_SCHEDULER_CONFIG = dict(
    SDXL_SCHEDULER_CONFIG, _class_name="EulerAncestralDiscreteScheduler", timestep_spacing="trailing"
)
