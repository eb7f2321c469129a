"""The demo server's vision answers come from the pixels it received: size and average colour,
streamed and whole, on the GLM-4V (glm4 flavour, a ``4v`` model) and OpenAI flavours."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image, ImageStat

from glm_tui.demo.flavors import IMAGE_PROMPT_TOKENS
from glm_tui.demo.server import DemoServer
from tests.support.demo import chunks, data_url, image_message, post_chat

CRLF2 = b"\r\n\r\n"
LF2 = b"\n\n"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    glm4, oai = DemoServer(flavor="glm4", token_rate=0), DemoServer(flavor="openai", token_rate=0)
    try:
        yield {"glm4": glm4.start(), "openai": oai.start()}
    finally:
        glm4.stop()
        oai.stop()


def jpeg(colour: tuple[int, int, int], size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def average_hex(data: bytes) -> str:
    """The mean colour of the JPEG as decoded here, independently of the server."""
    mean = ImageStat.Stat(Image.open(io.BytesIO(data)).convert("RGB")).mean
    return "#" + "".join(f"{round(v):02X}" for v in mean)


def reply_text(url: str, body: dict[str, Any], stream: bool, separator: bytes) -> str:
    response = post_chat(url, {**body, "stream": stream})
    assert response.status == 200, response.body
    if not stream:
        return str(response.json()["choices"][0]["message"]["content"])
    return "".join(frame["choices"][0]["delta"].get("content") or ""
                   for frame in chunks(response.body, separator) if frame["choices"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(("flavor", "model", "separator"), [
    ("glm4", "glm-4v", CRLF2), ("openai", "gpt-4o", LF2)])
def test_the_reply_names_the_pixel_size_and_the_average_colour(
        servers: dict[str, str], flavor: str, model: str, separator: bytes,
        stream: bool) -> None:
    picture = jpeg((200, 120, 40), (123, 45))
    body = {"model": model, "messages": [image_message("What's in this image?",
                                                       data_url(picture))]}
    text = reply_text(servers[flavor], body, stream, separator)
    assert (f"The image is 123×45 pixels, mode RGB (JPEG), and its dominant colour is orange "
            f"(average colour {average_hex(picture)}).") in text


def test_glm4v_describes_only_the_first_image_of_the_conversation(
        servers: dict[str, str]) -> None:
    red, blue = jpeg((220, 20, 20), (40, 40)), jpeg((30, 60, 220), (80, 20))
    messages = [image_message("first", data_url(red)), {"role": "assistant", "content": "ok"},
                image_message("second", data_url(blue))]
    text = reply_text(servers["glm4"], {"model": "glm-4v", "messages": messages}, False, CRLF2)
    assert "40×40 pixels" in text and "80×20" not in text


def test_openai_describes_every_image_of_the_newest_question(servers: dict[str, str]) -> None:
    red, blue = jpeg((220, 20, 20), (40, 40)), jpeg((30, 60, 220), (80, 20))
    question = {"role": "user", "content": [
        {"type": "text", "text": "Compare."},
        {"type": "image_url", "image_url": {"url": data_url(red)}},
        {"type": "image_url", "image_url": {"url": data_url(blue)}}]}
    text = reply_text(servers["openai"], {"model": "gpt-4o", "messages": [question]}, True, LF2)
    assert "Image 1 is 40×40 pixels" in text and "dominant colour is red" in text
    assert "Image 2 is 80×20 pixels" in text and "dominant colour is blue" in text
    whole = post_chat(servers["openai"], {"model": "gpt-4o", "messages": [question]}).json()
    assert whole["usage"]["prompt_tokens"] > 2 * IMAGE_PROMPT_TOKENS  # both images are counted
