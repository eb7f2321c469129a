"""Pictures an MCP tool returned become attachments of its tool message.

The tool message keeps references (:class:`~glm_tui.model.session.ImageAttachment`) like a
question does, so the request (:mod:`glm_tui.chat.request`), the store, export and the screen need
nothing new. A server's bytes are never taken on trust: Pillow must recognise them as a picture
(:func:`~glm_tui.chat.image_data.inspect_image`, header only), and the real format decides the
MIME type. Pillow is imported only when a result has pictures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from glm_tui.chat.attachments import Store, data_url
from glm_tui.chat.image_data import ImageDataError, inspect_image
from glm_tui.chat.request import ImageLoader, ImageUnavailableError
from glm_tui.model.session import ImageAttachment
from glm_tui.tool_servers.results import ResultImage


def checked_pictures(
    images: Sequence[ResultImage], tool: str,
) -> tuple[list[tuple[ImageAttachment, bytes]], list[str]]:
    """Each picture with its reference (named ``tool-N.ext``), and words for each that is not
    one ("picture 2 from get_map is not an image: ...")."""
    kept: list[tuple[ImageAttachment, bytes]] = []
    problems: list[str] = []
    for number, image in enumerate(images, start=1):
        try:
            facts = inspect_image(image.data)
        except ImageDataError as exc:
            problems.append(f"picture {number} from {tool} was left out: {exc}")
            continue
        digest = hashlib.sha256(image.data).hexdigest()
        attachment = ImageAttachment(digest, facts.mime, facts.width, facts.height,
                                     f"{tool}-{number}.{facts.ext}", len(image.data))
        kept.append((attachment, image.data))
    return kept, problems


def keep_result_images(store: Store, images: Sequence[ResultImage],
                       tool: str) -> tuple[list[ImageAttachment], list[str]]:
    """Store the pictures (once, by content) and return their references and any problems.

    Raises the store's ``StoreWriteError`` when the data directory cannot be written.
    """
    kept, problems = checked_pictures(images, tool)
    attachments = []
    for attachment, data in kept:
        store.put_image(data, attachment.name.rsplit(".", 1)[-1])
        attachments.append(attachment)
    return attachments, problems


def result_images_in_memory(
    images: Sequence[ResultImage], tool: str, loader: ImageLoader | None = None,
) -> tuple[list[ImageAttachment], ImageLoader, list[str]]:
    """References and a loader for pictures that are sent but not stored (``glm-tui ask``).

    ``loader``: the loader of the pictures already in the conversation, asked for any other.
    """
    kept, problems = checked_pictures(images, tool)
    by_hash = {attachment.sha256: (attachment.mime, data) for attachment, data in kept}

    def load(image: ImageAttachment) -> str:
        if image.sha256 in by_hash:
            return data_url(*by_hash[image.sha256])
        if loader is not None:
            return loader(image)
        raise ImageUnavailableError(f"{image.name or 'an image'} cannot be sent: it is not "
                                    "in memory")

    return [attachment for attachment, _ in kept], load, problems
