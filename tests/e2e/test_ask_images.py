"""``glm-tui ask --image`` as a script uses it: a real process, real pictures, real servers.

The pictures are made with Pillow in tmp folders; the demo server's request log shows what
arrived, and its reply names the pixel size and colours it decoded from the bytes it received.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.test_ask import glm_tui, requests_received
from tests.support.raw_server import RawServer, json_script

JPEG_URL = "data:image/jpeg;base64,"


def photo(folder: Path, name: str, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    path = folder / name
    Image.new("RGB", size, colour).save(path)
    return path


def image_urls(body: dict[str, object]) -> list[str]:
    urls = []
    for message in body["messages"]:  # type: ignore[attr-defined]
        content = message["content"]
        if isinstance(content, list):
            urls += [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    return urls


def decoded(url: str) -> Image.Image:
    assert url.startswith(JPEG_URL)
    return Image.open(io.BytesIO(base64.b64decode(url[len(JPEG_URL):])))


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "no-stream"])
def test_a_picture_reaches_the_glm4v_server(glm4_server: str, request_log: Path,
                                            tmp_path: Path, stream: bool) -> None:
    path = photo(tmp_path, "snow field.png", (250, 250, 250), (2400, 1600))
    before = path.read_bytes()
    flags = [] if stream else ["--no-stream"]
    result = glm_tui("ask", "--base-url", glm4_server, "--model", "glm-4v", *flags,
                     "--image", str(path), "What's in this image?")
    assert result.returncode == 0, result.stderr
    assert "The image is 1120×747 pixels" in result.stdout
    assert "dominant colour is white" in result.stdout
    assert result.stderr == "glm-tui: snow field.png: downscaled from 2400×1600\n"
    [body] = requests_received(request_log)
    assert body["stream"] is stream
    [url] = image_urls(body)
    assert decoded(url).size == (1120, 747)
    assert path.read_bytes() == before


def test_two_pictures_reach_the_openai_flavour(openai_server: str, request_log: Path,
                                               tmp_path: Path) -> None:
    red = photo(tmp_path, "red.png", (220, 20, 20), (64, 48))
    blue = photo(tmp_path, "blue.jpg", (30, 60, 220), (30, 90))
    result = glm_tui("ask", "--base-url", openai_server, "--model", "gpt-4o",
                     "--image", str(red), "--image", str(blue), "Compare them.")
    assert result.returncode == 0, result.stderr
    assert "Image 1 is 64×48 pixels" in result.stdout
    assert "Image 2 is 30×90 pixels" in result.stdout
    assert "dominant colour is red" in result.stdout and "dominant colour is blue" in result.stdout
    [body] = requests_received(request_log)
    assert [decoded(url).size for url in image_urls(body)] == [(64, 48), (30, 90)]


def test_a_bad_picture_stops_before_anything_is_sent(glm4_server: str, request_log: Path,
                                                     tmp_path: Path) -> None:
    good = photo(tmp_path, "ok.png", (1, 2, 3), (10, 10))
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture at all\n")
    result = glm_tui("ask", "--base-url", glm4_server, "--model", "glm-4v",
                     "--image", str(good), "--image", str(bad), "What?")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == ("glm-tui ask: error: notes.jpg is not an image (it is text); "
                             "nothing was sent\n")
    missing = glm_tui("ask", "--base-url", glm4_server, "--image", str(tmp_path / "gone.png"),
                      "What?")
    assert (missing.returncode, missing.stderr) == (
        2, f"glm-tui ask: error: {tmp_path / 'gone.png'} does not exist; nothing was sent\n")
    assert requests_received(request_log) == []


def test_a_text_model_on_the_glm4_server_is_refused(glm4_server: str, request_log: Path,
                                                    config_path: Path, tmp_path: Path) -> None:
    config_path.write_text(f'server = "local"\n\n[servers.local]\nbase_url = "{glm4_server}"\n'
                           'model = "glm-4"\nkind = "glm4"\n', encoding="utf-8")
    path = photo(tmp_path, "cat.png", (1, 2, 3), (10, 10))
    result = glm_tui("ask", "--image", str(path), "What?")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "glm-tui ask: error: The GLM-4 local server cannot read images (cat.png): remove it or "
        "choose a vision model such as glm-4v. Nothing was sent.\n")
    assert requests_received(request_log) == []


def test_an_unknown_server_that_takes_only_text_is_named(glm4_server: str,
                                                         tmp_path: Path) -> None:
    """Without a configured kind, ask does not ask /v1/models first: the picture is sent, and
    the GLM-4 text server's 422 is recognised as "this model cannot read images"."""
    path = photo(tmp_path, "cat.png", (1, 2, 3), (10, 10))
    result = glm_tui("ask", "--base-url", glm4_server, "--model", "glm-4", "--image", str(path),
                     "What?")
    assert result.returncode == 1
    assert "messages[0].content: Input should be a valid string" in result.stderr
    assert result.stderr.endswith(
        "glm-tui: the server cannot read images with the model glm-4: ask without --image, or "
        "choose a vision model\n")


def test_a_server_that_cannot_read_pictures_is_named(tmp_path: Path) -> None:
    path = photo(tmp_path, "cat.png", (1, 2, 3), (10, 10))
    said = "image input is not supported - hint: if this is unexpected, you may need to " \
           "provide the mmproj"
    with RawServer() as server:
        server.add(json_script(500, {"error": {"code": 500, "message": said,
                                               "type": "server_error"}}))
        result = glm_tui("ask", "--base-url", server.base_url, "--model", "qwen",
                         "--image", str(path), "What?")
    assert result.returncode == 1
    assert said in result.stderr
    assert result.stderr.endswith(
        "glm-tui: the server cannot read images with the model qwen: ask without --image, or "
        "choose a vision model\n")


def test_the_demo_switch_sends_pictures_to_its_vision_model(tmp_path: Path) -> None:
    path = photo(tmp_path, "leaf.png", (40, 160, 40), (90, 60))
    result = glm_tui("ask", "--demo", "--image", str(path), "What's in this image?")
    assert result.returncode == 0, result.stderr
    assert "answering as glm-4v" in result.stdout and "90×60 pixels" in result.stdout
