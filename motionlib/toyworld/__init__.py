"""The toy world: short procedural clips whose truth is known, and models trained on them.

The paper's claim (motion is fixed in the early denoising timesteps, appearance in the late ones)
is a property of how a *trained* denoiser builds a video. This world is small enough for each
family's real classes, at toy size, to learn it on two CPU cores, and simple enough that an
oracle can read every attribute back by direct measurement.

Vocabulary (:mod:`.world`)
--------------------------
A clip is 8 frames of 32 x 32 pixels (2 s at 4 fps) of one object on a plain background:

==============  =================================================================================
shape           circle, square, triangle (about 10 pixels across)
colour          red, green, blue, yellow
texture         plain, striped (vertical dark bands, 4-pixel period), dotted (a 4-pixel grid of dots)
background      gray, black, white
direction       left, right, up, down
path            straight; zigzag (0, +2.5, 0, -2.5 pixels across the direction, frame by frame)
speed           1.5 to 2.5 pixels per frame, uniform (not captioned)
start           uniform over the positions that keep the whole motion in frame (not captioned)
==============  =================================================================================

Captions follow one template: ``"a red striped circle moves left on a gray background"``; a plain
object omits its texture (``"a red square moves right on a gray background"``) and a zigzag path
says ``"zigzags"``. A fixed, seeded tenth of the 432 (shape, colour, texture, background,
direction) combinations is held out (:func:`.world.held_out_combinations`): no model trains on
them. The base models never see a zigzag: it is kept for the motion-customization experiment.

Modules
-------
- :mod:`.world`: the vocabulary, :class:`.world.ClipSpec`, rendering, captions, seeded sampling.
- :mod:`.oracle`: reads any video of the world back into its attributes and trajectory.
- :mod:`.components`: the families' classes at toy size (each family's ``ToyRecipe``,
  :mod:`motionlib.families`), tokenizers built from the vocabulary.
- :mod:`.training`: trains a family's VAE, text encoder and denoiser from scratch.
- :mod:`.dataset`: held-out clips as a dataset, with appearance edits (TGVE's kinds) and motion edits.
- :mod:`.claim` (inversion + prompt windows, the paper's protocol) and :mod:`.switching` (prompt
  switching from fresh noise): when each attribute is decided, read by the oracle;
  :mod:`.commitment` turns that into commitment times with intervals and nulls, and
  :mod:`.criteria` judges the paper's claims by criteria fixed in code (the claims table).
- :mod:`.quality` and :mod:`.customization`: how well the models draw, and what a motion LoRA transfers.
"""
