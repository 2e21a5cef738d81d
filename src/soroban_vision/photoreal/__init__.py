"""A second, independent soroban renderer: real 3D geometry path-traced by Blender's Cycles.

Two sides, two processes. The project's side (`design`, `shot`, `hand_pose`, `blender`, `writer`)
draws every random choice of a scene as plain data and writes the manifest; it never imports
`bpy`. The Blender side (`worker` and what it builds with: `frame`, `beads`, `materials`,
`stage`, `hands`, `camera`, `labels`) runs in a Python that has `bpy` (its own venv,
`.venv-photoreal`: bpy pins numpy 1.26, the project needs numpy 2), turns that data into a scene,
renders it and measures the labels from the 3D scene itself. The Blender side imports only this
package (relative imports) and numpy, so it loads without the project's dependencies.

World coordinates are metres: the soroban lies on the table (z = 0) centred on the origin, x to
the right along the frame, y towards the top rail (the heaven side), z up. The flat frame
coordinates of the 2D renderer (origin at the frame's outer top-left, y down) map to
x = xf - width / 2, y = height / 2 - yf.
"""

SAMPLES = (
    4  # Cycles samples per pixel: with the OpenImageDenoise denoiser 4 look as 8 and 16 do, in half the time
)
SIZE = (640, 480)
