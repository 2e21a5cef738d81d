"""Blender side: the materials, from a look (a dict of plain data the design chose).

A look is {"kind": wood | plastic | metal | paper | skin | translucent | cloth, "colour": sRGB
0-255, "roughness": 0-1, and for wood "grain" (how strong) and "rings" (how dense)}. Wood grain
runs along the object's local x, so every rail is built long along its local x.
"""

from __future__ import annotations

import bpy


def linear(rgb) -> tuple[float, float, float, float]:
    """sRGB 0-255 -> Blender's linear RGBA."""

    def one(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (one(rgb[0]), one(rgb[1]), one(rgb[2]), 1.0)


def _wood(tree, bsdf, look) -> None:
    """Grain: stretched noise bands along local x, mixed between the colour and a darker tone."""
    nodes, links = tree.nodes, tree.links
    coords = nodes.new("ShaderNodeTexCoord")
    mapping = nodes.new("ShaderNodeMapping")
    mapping.inputs["Scale"].default_value = (
        4.0,
        90.0 * look.get("rings", 1.0),
        90.0 * look.get("rings", 1.0),
    )
    wave = nodes.new("ShaderNodeTexWave")
    wave.wave_type = "BANDS"
    wave.bands_direction = "Y"
    wave.inputs["Scale"].default_value = 0.6
    wave.inputs["Distortion"].default_value = 6.0
    wave.inputs["Detail"].default_value = 3.0
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 3.0
    noise.inputs["Detail"].default_value = 8.0
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    grain = float(look.get("grain", 0.3))
    dark = [c * (1 - grain) for c in look["colour"]]
    mix.inputs["A"].default_value = linear(look["colour"])
    mix.inputs["B"].default_value = linear(dark)
    fac = nodes.new("ShaderNodeMath")
    fac.operation = "MULTIPLY"
    fac.inputs[1].default_value = 0.8
    links.new(coords.outputs["Object"], mapping.inputs["Vector"])
    links.new(mapping.outputs["Vector"], wave.inputs["Vector"])
    links.new(mapping.outputs["Vector"], noise.inputs["Vector"])
    links.new(wave.outputs["Fac"], fac.inputs[0])
    links.new(fac.outputs["Value"], mix.inputs["Factor"])
    links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = 0.05
    links.new(noise.outputs["Fac"], bump.inputs["Height"])
    links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])


def _speckle(tree, bsdf, look, scale: float, strength: float) -> None:
    """A faint noise over the colour (cloth, paper, skin): no surface is one flat colour."""
    nodes, links = tree.nodes, tree.links
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = scale
    noise.inputs["Detail"].default_value = 6.0
    mix = nodes.new("ShaderNodeMix")
    mix.data_type = "RGBA"
    mix.inputs["A"].default_value = linear([c * (1 - strength) for c in look["colour"]])
    mix.inputs["B"].default_value = linear([min(255, c * (1 + strength)) for c in look["colour"]])
    links.new(noise.outputs["Fac"], mix.inputs["Factor"])
    links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])


def material(name: str, look: dict) -> bpy.types.Material:
    """The material `name` for `look`, made once per scene."""
    if name in bpy.data.materials:
        return bpy.data.materials[name]
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    tree = mat.node_tree
    bsdf = tree.nodes["Principled BSDF"]
    kind = look["kind"]
    bsdf.inputs["Base Color"].default_value = linear(look["colour"])
    bsdf.inputs["Roughness"].default_value = float(look.get("roughness", 0.5))
    if kind == "wood":
        _wood(tree, bsdf, look)
        bsdf.inputs["Coat Weight"].default_value = float(look.get("varnish", 0.0))
    elif kind == "plastic":
        bsdf.inputs["Specular IOR Level"].default_value = 0.6
    elif kind == "metal":
        bsdf.inputs["Metallic"].default_value = 1.0
    elif kind == "translucent":
        bsdf.inputs["Transmission Weight"].default_value = 0.85
        bsdf.inputs["IOR"].default_value = 1.49
    elif kind == "skin":
        _speckle(tree, bsdf, look, 300.0, 0.08)
        bsdf.inputs["Subsurface Weight"].default_value = 0.25
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.003
    elif kind in ("cloth", "paper"):
        _speckle(tree, bsdf, look, 400.0 if kind == "cloth" else 40.0, float(look.get("speckle", 0.1)))
    return mat


def image_material(name: str, pixels: list[list[list[float]]]) -> bpy.types.Material:
    """A matte paper material printed with an image (rows top first, sRGB 0-255 triples), each
    pixel a sharp square: the marker's bits."""
    rows, cols = len(pixels), len(pixels[0])
    # a byte image in sRGB: its pixels are the sRGB values themselves, and packing keeps them as
    # they are (a float image would be packed through a second colour conversion: grey ink)
    image = bpy.data.images.new(name, cols, rows)
    flat = []
    for row in reversed(pixels):  # Blender images start at the bottom row
        for v in row:
            flat.extend((v[0] / 255, v[1] / 255, v[2] / 255, 1.0))
    image.pixels = flat
    image.pack()  # Cycles reads a packed image; a generated one would render as its fill colour
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    tree = mat.node_tree
    bsdf = tree.nodes["Principled BSDF"]
    bsdf.inputs["Roughness"].default_value = 0.55
    tex = tree.nodes.new("ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Closest"
    tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    return mat
