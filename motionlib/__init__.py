"""motionlib: reproducible companion to "Video Diffusion Models Encode Motion in Early Timesteps".

Start with :func:`motionlib.models.load_model`, :func:`motionlib.sampling.generate` and
:mod:`motionlib.data`; ``docs/architecture.md`` maps every concern to its module.
"""

import warnings

# In a notebook without ipywidgets, importing tqdm.auto (as this package, diffusers and transformers do)
# warns "IProgress not found" and falls back to the plain text bar. The plain bar is the one we want
# there (executed notebooks and their offline report pages keep no widget state), so the warning is noise.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

__version__ = "0.1.0"
