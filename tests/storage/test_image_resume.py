"""Pictures come back on resume: same references, same bytes, from a fresh store on the same dir.

The session is written as the app writes it (the recorder), the store closed, and a new
``SessionStore`` opened on the same tmp data directory, as a restart does. A picture whose file
was deleted meanwhile is named, in words, where it is needed: when the request is shaped.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from glm_tui.chat.attachments import image_loader, keep_image
from glm_tui.chat.image_prep import prepare_image
from glm_tui.chat.request import ImageUnavailableError, build_request
from glm_tui.chat.turn import prepare_turn
from glm_tui.model.server_kind import ServerKind
from glm_tui.model.session import ImageAttachment, Message, Role, Session
from glm_tui.storage.recorder import SessionRecorder
from glm_tui.storage.store import SessionStore
from tests.support.demo import image_bytes


def picture(folder: Path, name: str, colour: tuple[int, int, int],
            size: tuple[int, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(image_bytes(colour, size))
    return path


def recorded_session(data_dir: Path, pictures: Path) -> tuple[Session, list[ImageAttachment]]:
    """A conversation with three pictures, saved through the recorder, the store then closed."""
    store = SessionStore(data_dir)
    cat = keep_image(store, prepare_image(picture(pictures, "cat.jpg", (200, 30, 40), (64, 48))))
    big = keep_image(store, prepare_image(picture(pictures, "big photo.jpg", (20, 90, 200),
                                                  (2400, 1200))))
    sky = keep_image(store, prepare_image(picture(pictures, "天空.jpg", (90, 160, 250), (30, 30))))
    session = Session(title="Pictures", model="glm-4v")
    recorder = SessionRecorder(store, session)
    recorder.save_session()
    for message in (Message(Role.USER, "What's in this image?", images=[cat]),
                    Message(Role.ASSISTANT, "A red square."),
                    Message(Role.USER, "And these?", images=[big, sky]),
                    Message(Role.ASSISTANT, "A blue photo and a sky.")):
        session.messages.append(message)
        recorder.add_message(message)
    assert recorder.flush()
    store.close()
    return session, [cat, big, sky]


def test_pictures_come_back_on_resume(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    session, (cat, big, sky) = recorded_session(data_dir, tmp_path / "pictures")
    assert (big.width, big.height) == (1120, 560)  # normalised before it was kept
    kept_bytes = {image.sha256: (data_dir / "images" / image.sha256[:2]
                                 / f"{image.sha256}.jpg").read_bytes()
                  for image in (cat, big, sky)}

    reopened = SessionStore(data_dir)
    again = reopened.load_session(session.id)
    assert again.messages == session.messages  # every field: hash, type, size, name, bytes
    assert [m.images for m in again.messages] == [[cat], [], [big, sky], []]
    assert sky.name == "天空.jpg" and sky.bytes == len(kept_bytes[sky.sha256]) > 0
    for image in (cat, big, sky):
        assert reopened.image_path(image.sha256).read_bytes() == kept_bytes[image.sha256]

    # The resumed session is sent as before: the GLM-4V server gets the first picture's bytes.
    request = build_request(again, ServerKind.GLM4V, image_loader=image_loader(reopened))
    url = request["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == kept_bytes[cat.sha256]
    reopened.close()


def test_a_deleted_picture_is_named_when_the_request_is_shaped(tmp_path: Path) -> None:
    """The session still opens (its placeholder has name, size and bytes without the file);
    sending says which picture is gone and where it was looked for, and nothing is sent."""
    data_dir = tmp_path / "data"
    session, (_cat, big, _sky) = recorded_session(data_dir, tmp_path / "pictures")
    reopened = SessionStore(data_dir)
    reopened.image_path(big.sha256).unlink()
    again = reopened.load_session(session.id)
    assert again.messages[2].images[0] == big  # the reference is intact
    assert not reopened.has_image(big.sha256)

    with pytest.raises(ImageUnavailableError) as caught:
        build_request(again, ServerKind.OPENAI, image_loader=image_loader(reopened))
    words = str(caught.value)
    assert words.startswith("big photo.jpg cannot be sent: ")
    assert "missing" in words and str(data_dir / "images" / big.sha256[:2]) in words

    # The GLM-4V server only ever gets the first picture of the conversation: the missing
    # second one does not stop it.
    request = build_request(again, ServerKind.GLM4V, image_loader=image_loader(reopened))
    assert request["messages"][2]["content"] == "And these?"
    reopened.close()


def test_a_row_from_before_sizes_were_kept_reads_as_zero_bytes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    session, (cat, _big, _sky) = recorded_session(data_dir, tmp_path / "pictures")
    conn = sqlite3.connect(data_dir / "sessions.db")
    old = [{"sha256": cat.sha256, "mime": "image/jpeg", "width": 64, "height": 48,
            "name": "cat.jpg"}]
    conn.execute("UPDATE messages SET images = ? WHERE images LIKE ?",
                 (json.dumps(old), f"%{cat.sha256}%"))
    conn.commit()
    conn.close()
    reopened = SessionStore(data_dir)
    first = reopened.load_session(session.id).messages[0]
    assert first.images == [ImageAttachment(cat.sha256, "image/jpeg", 64, 48, "cat.jpg", 0)]
    assert reopened.image_path(cat.sha256).is_file()
    reopened.close()


def test_a_question_whose_picture_was_deleted_is_refused_with_its_name(tmp_path: Path) -> None:
    """Resumed, then asked again: the turn is refused before anything is sent, and the words
    name the picture and where it was looked for (the app shows them and keeps the question)."""
    data_dir = tmp_path / "data"
    session, (_cat, big, _sky) = recorded_session(data_dir, tmp_path / "pictures")
    reopened = SessionStore(data_dir)
    reopened.image_path(big.sha256).unlink()
    again = reopened.load_session(session.id)
    del again.messages[3:]  # "And these?" [big, sky] is the newest question, not yet answered

    prepared = prepare_turn(again, ServerKind.OPENAI, image_loader=image_loader(reopened))
    assert prepared.refusal is not None
    assert prepared.refusal.startswith("big photo.jpg cannot be sent: image ")
    assert str(data_dir / "images" / big.sha256[:2]) in prepared.refusal
    assert prepared.refusal.endswith("Nothing was sent.")
    reopened.close()


def test_an_earlier_deleted_picture_does_not_block_later_questions(tmp_path: Path) -> None:
    """A picture of an earlier question is gone: a new text question is still sent (without
    that picture, and the notes say so), on a server taking several pictures and on GLM-4V.
    Before, every later question of the session was refused and nothing could remove it."""
    data_dir = tmp_path / "data"
    session, (cat, big, sky) = recorded_session(data_dir, tmp_path / "pictures")
    reopened = SessionStore(data_dir)
    reopened.image_path(cat.sha256).unlink()
    again = reopened.load_session(session.id)
    again.messages.append(Message(Role.USER, "Which one is brighter?"))

    for kind in (ServerKind.OPENAI, ServerKind.GLM4V):
        prepared = prepare_turn(again, kind, image_loader=image_loader(reopened))
        assert prepared.refusal is None, kind
        sent = json.dumps(prepared.request["messages"])
        assert prepared.request["messages"][0]["content"] == "What's in this image?"
        assert "Which one is brighter?" in sent
        assert any("cat.jpg" in note and "missing" in note for note in prepared.notes), (
            kind, prepared.notes)
        assert cat not in prepared.sent_images
    # GLM-4V reads the first picture of the conversation: with cat.jpg gone that is big photo.
    glm4v = prepare_turn(again, ServerKind.GLM4V, image_loader=image_loader(reopened))
    assert glm4v.sent_images == (big,)
    both = prepare_turn(again, ServerKind.OPENAI, image_loader=image_loader(reopened))
    assert both.sent_images == (big, sky)
    reopened.close()
