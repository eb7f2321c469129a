"""Normalising attached pictures: real files made with Pillow in tmp folders, real decoding.

Every bad input is a test with the exact words the person reads; every good one is checked by
decoding the JPEG that would be sent (size, colour, mode), and the original is never modified.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from glm_tui.chat.image_prep import (
    ImageLimits,
    ImagePrepError,
    PreparedImage,
    dropped_image_path,
    prepare_image,
)


def decoded(prepared: PreparedImage) -> Image.Image:
    """The JPEG that would be sent, decoded (and checked to be a baseline RGB JPEG)."""
    image = Image.open(io.BytesIO(prepared.jpeg))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (prepared.width, prepared.height)
    return image


def close(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    """A picture JPEG cannot squeeze much (random pixels), made quickly."""
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def prep_error(path: Path, limits: ImageLimits | None = None) -> str:
    with pytest.raises(ImagePrepError) as caught:
        prepare_image(path, limits or ImageLimits())
    return str(caught.value)


# -- good pictures ------------------------------------------------------------------------------


def test_a_photo_is_downscaled_to_the_longest_side_and_the_original_left_alone(
        tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = save(noise((3000, 2000)), folder / "holiday.jpg", quality=92)
    before = (photo.read_bytes(), photo.stat().st_mtime_ns)
    prepared = prepare_image(photo)
    assert (prepared.width, prepared.height) == (1120, 747)
    assert (prepared.original_width, prepared.original_height) == (3000, 2000)
    assert prepared.name == "holiday.jpg"
    assert "downscaled from 3000×2000" in prepared.notes
    assert len(prepared.jpeg) <= ImageLimits().max_bytes
    decoded(prepared)
    assert (photo.read_bytes(), photo.stat().st_mtime_ns) == before
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg"]  # nothing written beside


def test_a_small_picture_keeps_its_size_and_gets_no_notes(tmp_path: Path) -> None:
    prepared = prepare_image(save(Image.new("RGB", (64, 48), (250, 10, 10)), tmp_path / "r.png"))
    assert (prepared.width, prepared.height, prepared.notes) == (64, 48, ())
    assert close(decoded(prepared).getpixel((5, 5)), (250, 10, 10))


def test_the_longest_side_follows_the_limits(tmp_path: Path) -> None:
    tall = save(Image.new("RGB", (300, 900), (0, 0, 200)), tmp_path / "tall.png")
    prepared = prepare_image(tall, ImageLimits(max_side=300))
    assert (prepared.width, prepared.height) == (100, 300)
    assert prepared.notes == ("downscaled from 300×900",)


def test_the_byte_cap_steps_quality_down_then_shrinks(tmp_path: Path) -> None:
    photo = save(noise((1000, 800)), tmp_path / "grain.png")
    prepared = prepare_image(photo, ImageLimits(max_bytes=20 * 1024))
    assert len(prepared.jpeg) <= 20 * 1024
    assert max(prepared.width, prepared.height) < 1000  # noise never fits 20 KB at full size
    decoded(prepared)
    [note] = prepared.notes
    assert note.startswith("re-encoded as JPEG quality 40 at ") and note.endswith(
        " to stay under 20 KB")


def test_exif_orientation_turns_the_picture_upright(tmp_path: Path) -> None:
    image = Image.new("RGB", (60, 40), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 30, 40))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    prepared = prepare_image(save(image, tmp_path / "phone.jpg", exif=exif.tobytes()))
    assert (prepared.width, prepared.height) == (40, 60)
    assert (prepared.original_width, prepared.original_height) == (40, 60)
    assert "turned upright as its EXIF orientation says" in prepared.notes
    upright = decoded(prepared)
    assert close(upright.getpixel((20, 5)), (255, 255, 255))  # the left half is now on top
    assert close(upright.getpixel((20, 55)), (0, 0, 0))
    assert "exif" not in upright.info  # camera details and GPS position are not sent


@pytest.mark.parametrize(("mode", "colour", "expected"), [
    ("RGBA", (0, 0, 255, 0), (255, 255, 255)),  # fully transparent: white
    ("RGBA", (0, 0, 255, 255), (0, 0, 255)),  # opaque alpha: the colour itself
    ("LA", (0, 0), (255, 255, 255)),
    ("L", 100, (100, 100, 100)),
    ("1", 1, (255, 255, 255)),
    ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
    ("I", 40000, (156, 156, 156)),  # 32-bit integers within 16 bits: read as 16-bit
    ("F", 0.5, (128, 128, 128)),  # floats within 0-1: fractions of white
], ids=["rgba-clear", "rgba-opaque", "la", "l", "1", "cmyk-png-as-tiff", "i32", "float"])
def test_every_mode_becomes_rgb(tmp_path: Path, mode: str, colour: object,
                                expected: tuple[int, int, int]) -> None:
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    path = save(Image.new(mode, (40, 30), colour), tmp_path / f"m.{fmt.lower()}", format=fmt)
    prepared = prepare_image(path)
    assert close(decoded(prepared).getpixel((10, 10)), expected)
    transparent = mode in ("LA",) or (mode == "RGBA" and colour == (0, 0, 255, 0))
    assert ("transparent areas are shown on white" in prepared.notes) is transparent


def test_a_palette_gif_with_a_transparent_colour_is_drawn_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (40, 30), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    path = save(image, tmp_path / "sticker.gif", transparency=1)
    prepared = prepare_image(path)
    assert close(decoded(prepared).getpixel((5, 5)), (255, 255, 255))
    assert prepared.notes == ("transparent areas are shown on white",)


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = save(Image.new("I;16", (40, 30), 40000), tmp_path / "scan16.png")
    assert Image.open(path).mode.startswith("I")  # really 16 bits per pixel on disk
    prepared = prepare_image(path)
    assert close(decoded(prepared).getpixel((10, 10)), (156, 156, 156), 3)  # 40000 / 256


def test_a_cmyk_jpeg(tmp_path: Path) -> None:
    path = save(Image.new("CMYK", (80, 60), (255, 0, 255, 0)), tmp_path / "print.jpg")
    assert Image.open(path).mode == "CMYK"
    prepared = prepare_image(path)
    assert close(decoded(prepared).getpixel((40, 30)), (0, 255, 0), 20)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_an_animation_sends_its_first_frame_and_says_so(tmp_path: Path, fmt: str) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    path = tmp_path / f"clip.{fmt.lower()}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], duration=100)
    prepared = prepare_image(path)
    label = {"GIF": "GIF", "WEBP": "WebP"}[fmt]
    assert prepared.notes == (f"animated {label}: only the first frame is sent",)
    assert close(decoded(prepared).getpixel((10, 10)), (255, 0, 0), 20)


def test_a_huge_exif_block_is_read_and_dropped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° counter-clockwise to view"
    exif[0x010E] = "x" * 65000  # ImageDescription: the JPEG segment is all but full (64 KB)
    jpeg = save(Image.new("RGB", (60, 40), (0, 120, 0)), tmp_path / "exif.jpg",
                exif=exif.tobytes())
    assert jpeg.stat().st_size > 65000
    png = save(Image.new("RGB", (60, 40), (0, 120, 0)), tmp_path / "exif.png",
               exif=_with_description(exif, 3_000_000))  # PNG's eXIf chunk has no 64 KB limit
    for path in (jpeg, png):
        prepared = prepare_image(path)
        assert (prepared.width, prepared.height) == (40, 60)
        assert len(prepared.jpeg) < 2000  # the EXIF block is not carried into what is sent


def _with_description(exif: Image.Exif, size: int) -> bytes:
    exif[0x010E] = "y" * size
    return exif.tobytes()


def test_a_path_with_spaces_and_cjk_characters(tmp_path: Path) -> None:
    folder = tmp_path / "假期 照片"
    folder.mkdir()
    path = save(Image.new("RGB", (50, 50), (240, 220, 30)), folder / "我的 猫 (1).png")
    prepared = prepare_image(path)
    assert prepared.name == "我的 猫 (1).png"
    assert dropped_image_path(str(path).replace(" ", "\\ ").replace("(", "\\(")
                              .replace(")", "\\)")) == path
    (folder / "坏 文件.jpg").write_text("不是图片")
    assert prep_error(folder / "坏 文件.jpg") == "坏 文件.jpg is not an image (it is text)"


def test_a_24_megapixel_jpeg_decodes_shrunk(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (6000, 4000), (30, 60, 220)), tmp_path / "camera.jpg")
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (1120, 747)
    assert close(decoded(prepared).getpixel((500, 300)), (30, 60, 220))


def test_a_jpeg_over_pillows_warning_size_is_fine(tmp_path: Path) -> None:
    # 90 megapixels: over Image.MAX_IMAGE_PIXELS (89.5), under twice it. A JPEG decodes at 1/8
    # scale here, so it is not refused as a PNG that size would be (next test).
    side = 9500
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < side * side < 2 * Image.MAX_IMAGE_PIXELS
    path = save(Image.new("L", (side, side), 90), tmp_path / "pano.jpg")
    prepared = prepare_image(path)
    assert (prepared.width, prepared.height) == (1120, 1120)
    assert "downscaled from 9500×9500" in prepared.notes


# -- bad input: each with the exact words the person reads --------------------------------------


def test_a_png_over_pillows_warning_size_is_refused(tmp_path: Path) -> None:
    path = save(Image.new("1", (10000, 10000), 0), tmp_path / "poster.png")
    assert prep_error(path) == (
        "poster.png is too large to open safely: 10000×10000 pixels is more than 89 megapixels")


def test_a_20000_by_20000_png_is_refused_by_pillows_limit(tmp_path: Path) -> None:
    # 400 megapixels is over twice Image.MAX_IMAGE_PIXELS: Pillow itself refuses to open it.
    path = save(Image.new("1", (20000, 20000), 0), tmp_path / "huge.png")
    assert path.stat().st_size < 200_000  # a few KB of zeros that would decode to 1.2 GB
    assert prep_error(path) == ("huge.png is too large to open safely: more than 179 "
                                "megapixels (it may be a decompression bomb)")


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """A real 1×1 PNG whose header claims 60000×60000 (3.6 gigapixels): tiny on disk."""
    small = io.BytesIO()
    Image.new("RGB", (1, 1), (1, 2, 3)).save(small, "PNG")
    data = bytearray(small.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", 60000, 60000)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    path = tmp_path / "bomb.png"
    path.write_bytes(bytes(data))
    assert prep_error(path) == ("bomb.png is too large to open safely: more than 179 "
                                "megapixels (it may be a decompression bomb)")


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(bytes(range(256)) * 8)
    assert prep_error(path) == ("noise.bin is not an image in a format glm-tui can read "
                                "(JPEG, PNG, GIF, WebP, BMP, TIFF)")
    pdf = tmp_path / "scan.png"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    assert prep_error(pdf) == "scan.png is not an image (it is a PDF document)"
    svg = tmp_path / "logo.png"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert prep_error(svg) == ("logo.png is an SVG drawing, which glm-tui cannot send: "
                               "export it as PNG first")


def test_a_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("Shopping list:\n- eggs\n- milk\n", encoding="utf-8")
    assert prep_error(path) == "notes.jpg is not an image (it is text)"


def test_a_truncated_jpeg(tmp_path: Path) -> None:
    whole = io.BytesIO()
    noise((400, 300)).save(whole, "JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    assert prep_error(path) == "cut.jpg is cut short: the file ends before the picture does"


def test_a_picture_whose_header_is_cut(tmp_path: Path) -> None:
    whole = io.BytesIO()
    Image.new("P", (16, 16)).save(whole, "GIF")
    path = tmp_path / "stub.gif"
    path.write_bytes(whole.getvalue()[:10])
    assert prep_error(path) == "stub.gif is damaged: it starts like a GIF image but cannot be read"


def test_a_damaged_png(tmp_path: Path) -> None:
    whole = io.BytesIO()
    noise((100, 100)).save(whole, "PNG")
    data = bytearray(whole.getvalue())
    data[200] ^= 0xFF  # inside the compressed pixels: the chunk's checksum no longer matches
    path = tmp_path / "flipped.png"
    path.write_bytes(bytes(data))
    message = prep_error(path)
    assert message.startswith("flipped.png is damaged and cannot be decoded (")


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert prep_error(path) == "empty.jpg is empty (0 bytes)"


def test_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "photos.jpg"
    folder.mkdir()
    assert prep_error(folder) == "photos.jpg is a folder, not an image"


def test_a_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "cat.jpg"
    assert prep_error(path) == f"{path} does not exist"


def test_an_unreadable_file(tmp_path: Path) -> None:
    """Permission to read is really denied by the kernel, then worded.

    chmod 000 does not stop root (its capabilities override file permissions), so as root the
    check runs in a child process started without those two capabilities (``setpriv`` drops
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from its bounding set); otherwise it runs here.
    """
    path = save(Image.new("RGB", (10, 10), (1, 2, 3)), tmp_path / "secret.png")
    path.chmod(0o000)
    expected = "secret.png cannot be read: permission denied"
    if os.geteuid() != 0:
        assert prep_error(path) == expected
        return
    code = ("import sys\nfrom pathlib import Path\n"
            "from glm_tui.chat.image_prep import ImagePrepError, prepare_image\n"
            "try:\n    prepare_image(Path(sys.argv[1]))\n"
            "except ImagePrepError as e:\n    print(e)\n")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod 000 cannot be made to bite")
    drop = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    done = subprocess.run([*drop, sys.executable, "-c", code, str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == expected, done.stderr
    # ... and the child really could not open it (not merely told so by glm-tui's own check):
    probe = subprocess.run([*drop, sys.executable, "-c", f"open({str(path)!r}, 'rb')"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert "PermissionError" in probe.stderr


# -- a path pasted or dropped into the prompt ------------------------------------------------------


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    folder = tmp_path / "My Pictures"
    folder.mkdir()
    return save(Image.new("RGB", (8, 8)), folder / "cat photo.JPG")


def test_dropped_paths_in_the_shapes_terminals_paste(picture: Path, tmp_path: Path) -> None:
    escaped = str(picture).replace(" ", "\\ ")
    url = "file://" + str(picture).replace(" ", "%20")
    for text in (str(picture), f"'{picture}'", f'"{picture}"', escaped, url,
                 f"  {picture}\n", "file://localhost" + str(picture).replace(" ", "%20")):
        assert dropped_image_path(text) == picture, text
    assert dropped_image_path("My Pictures/cat photo.JPG", cwd=tmp_path) == picture


def test_dropped_home_relative_path(picture: Path, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dropped_image_path("~/My\\ Pictures/cat\\ photo.JPG") == picture


def test_text_that_is_not_one_image_path(picture: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    for text in ("", "   ", "hello world", f"{picture}\n{picture}", str(tmp_path / "notes.txt"),
                 str(tmp_path / "missing.png"), str(tmp_path), "file://otherhost/x.png",
                 f"look at {picture}", "x" * 5000 + ".png"):
        assert dropped_image_path(text) is None, text


def test_importing_the_image_modules_does_not_load_pillow() -> None:
    """The prompt imports these to recognise a pasted path: Pillow waits for a real picture."""
    code = ("import sys, glm_tui.chat.image_prep, glm_tui.chat.attachments\n"
            "print('PIL' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
