"""motionlib: reproducible companion to "Video Diffusion Models Encode Motion in Early Timesteps".

Start with :func:`motionlib.models.load_model`, :func:`motionlib.sampling.generate` and
:mod:`motionlib.data`; ``docs/architecture.md`` maps every concern to its module.
"""

__version__ = "0.1.0"
