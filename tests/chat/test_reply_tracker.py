"""The rules that turn a reply's chat events into what a person sees on the assistant message.

Each test feeds :class:`ReplyTracker` the events a real stream produces and checks the message's
status, text, error block, token counts and timings. A fake clock makes the timings exact: the
status bar's "first token after" and "tokens per second" must be right, not merely present.
"""

from __future__ import annotations

import pytest

from glm_tui.chat.reply_tracker import ReplyTracker, error_text
from glm_tui.client.events import (
    Connected,
    ErrorKind,
    Finished,
    StreamError,
    TextDelta,
    ToolCallDelta,
    UsageReport,
)
from glm_tui.model.session import Message, MessageStatus, Role, ToolCall, Usage

WALL_START = 1_750_000_000.0


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_tracker(message: Message | None = None) -> tuple[ReplyTracker, Message, FakeClock]:
    clock = FakeClock()
    reply = message if message is not None else Message(Role.ASSISTANT)
    tracker = ReplyTracker(reply, clock=clock, wall=lambda: WALL_START)
    return tracker, reply, clock


def weather_call(arguments: str = '{"city": "Paris"}') -> ToolCall:
    return ToolCall(id="call_1", name="get_weather", arguments=arguments)


# -- starting and streaming text ----------------------------------------------------------------


def test_a_new_tracker_marks_the_message_streaming_and_clears_an_old_error() -> None:
    old = Message(Role.ASSISTANT, status=MessageStatus.FAILED, error="HTTP 500")
    tracker, reply, _ = make_tracker(old)

    assert reply.status is MessageStatus.STREAMING
    assert reply.error is None
    assert reply.timings is not None and reply.timings.started_at == WALL_START
    assert tracker.connected is False
    assert tracker.error is None


def test_deltas_are_joined_only_when_synced() -> None:
    tracker, reply, _ = make_tracker()
    for piece in ("The capital ", "of France ", "", "is Paris."):
        tracker.apply(TextDelta(piece))

    assert reply.content == ""  # nothing copied per delta
    assert tracker.text_length == len("The capital of France is Paris.")
    assert tracker.sync() is reply
    assert reply.content == "The capital of France is Paris."

    tracker.apply(TextDelta(" Next."))
    assert reply.content == "The capital of France is Paris."
    tracker.sync()
    assert reply.content == "The capital of France is Paris. Next."


def test_text_already_on_the_message_is_continued() -> None:
    tracker, reply, _ = make_tracker(Message(Role.ASSISTANT, content="Once upon"))
    tracker.apply(TextDelta(" a time"))
    tracker.sync()
    assert reply.content == "Once upon a time"


def test_empty_deltas_are_not_tokens() -> None:
    tracker, _, _ = make_tracker()
    tracker.apply(TextDelta(""))
    assert tracker.has_tokens is False
    assert tracker.stats().completion_tokens is None


def test_connected_sets_connected() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(Connected(model="glm-4"))
    assert tracker.connected is True
    assert reply.status is MessageStatus.STREAMING


def test_tool_call_deltas_update_the_calls_in_index_order() -> None:
    tracker, reply, _ = make_tracker()
    second = ToolCall(id="call_2", name="get_time", arguments="{}")
    tracker.apply(ToolCallDelta(index=1, arguments_fragment="{}", call=second))
    tracker.apply(ToolCallDelta(index=0, arguments_fragment='{"city"',
                                call=weather_call('{"city"')))
    assert [c.name for c in reply.tool_calls] == ["get_weather", "get_time"]

    # A later fragment of call 0 replaces its accumulated state; the order stays.
    tracker.apply(ToolCallDelta(index=0, arguments_fragment=': "Paris"}', call=weather_call()))
    assert reply.tool_calls == [weather_call(), second]
    assert tracker.has_tokens is True


@pytest.mark.parametrize("estimated", [False, True])
def test_a_usage_report_sets_the_usage_and_keeps_the_estimated_flag(estimated: bool) -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(UsageReport(prompt_tokens=12, completion_tokens=34, estimated=estimated))
    assert reply.usage == Usage(prompt_tokens=12, completion_tokens=34, estimated=estimated)
    stats = tracker.stats()
    assert (stats.prompt_tokens, stats.completion_tokens, stats.estimated) == (12, 34, estimated)


# -- the end of a reply -------------------------------------------------------------------------


def test_finished_completes_the_reply_with_its_timings() -> None:
    tracker, reply, clock = make_tracker()
    tracker.apply(Connected())
    clock.advance(0.4)
    tracker.apply(TextDelta("Paris"))
    clock.advance(0.6)
    tracker.apply(TextDelta("."))
    clock.advance(0.5)
    tracker.apply(Finished(reason="stop", text="Paris."))

    assert reply.status is MessageStatus.COMPLETE
    assert reply.content == "Paris."  # joined without an explicit sync
    assert reply.error is None
    assert reply.timings is not None
    assert reply.timings.started_at == WALL_START
    assert reply.timings.first_token_s == pytest.approx(0.4)
    assert reply.timings.duration_s == pytest.approx(1.5)


def test_finished_adopts_the_final_text_when_it_holds_more_than_the_deltas() -> None:
    # Tool turns are buffered: the text arrives whole in the final event, not as deltas.
    tracker, reply, clock = make_tracker()
    clock.advance(0.7)
    tracker.apply(Finished(reason="tool_calls", text="Let me check the weather.",
                           tool_calls=(weather_call(),)))

    assert reply.status is MessageStatus.COMPLETE
    assert reply.content == "Let me check the weather."
    assert reply.tool_calls == [weather_call()]
    assert tracker.has_tokens is True  # the buffered text counts as the first token
    assert reply.timings is not None and reply.timings.first_token_s == pytest.approx(0.7)


def test_finished_keeps_the_deltas_when_the_final_text_is_shorter() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("Streamed in full."))
    tracker.apply(Finished(reason="stop", text=""))
    assert reply.content == "Streamed in full."
    assert reply.status is MessageStatus.COMPLETE


def test_finished_without_tool_calls_keeps_the_streamed_ones() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(ToolCallDelta(index=0, arguments_fragment="", call=weather_call()))
    tracker.apply(Finished(reason="tool_calls", text=""))
    assert reply.tool_calls == [weather_call()]


def test_a_completed_reply_without_usage_gets_an_estimated_completion_count() -> None:
    tracker, reply, _ = make_tracker()
    for piece in ("one", " two", " three"):
        tracker.apply(TextDelta(piece))
    tracker.apply(Finished(reason="stop", text="one two three"))
    assert reply.usage == Usage(prompt_tokens=None, completion_tokens=3, estimated=True)


def test_the_servers_usage_is_not_replaced_by_an_estimate() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("Hi"))
    tracker.apply(UsageReport(prompt_tokens=9, completion_tokens=2))
    tracker.apply(Finished(reason="stop", text="Hi"))
    assert reply.usage == Usage(prompt_tokens=9, completion_tokens=2, estimated=False)


# -- errors -------------------------------------------------------------------------------------


def test_an_interrupted_stream_keeps_the_text_and_shows_the_servers_words() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("The first half"))
    event = StreamError(kind=ErrorKind.INTERRUPTED,
                        message="The connection broke. The text so far is kept.",
                        server_detail="upstream worker restarted", text="The first half")
    tracker.apply(event)

    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.content == "The first half"
    assert reply.error == ("The connection broke. The text so far is kept.\n"
                           "Server said: upstream worker restarted")
    assert tracker.error is event


def test_an_interrupted_stream_adopts_the_clients_longer_text_and_tool_calls() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("The first"))
    tracker.apply(StreamError(kind=ErrorKind.INTERRUPTED, message="The connection broke.",
                              text="The first half", tool_calls=(weather_call(),)))
    assert reply.content == "The first half"
    assert reply.tool_calls == [weather_call()]


def test_a_timeout_after_some_text_is_an_interruption() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("Partial answer"))
    tracker.apply(StreamError(kind=ErrorKind.TIMEOUT, message="No data for 120 s."))
    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.content == "Partial answer"
    assert reply.error == "No data for 120 s."


def test_a_timeout_whose_text_only_arrives_in_the_error_is_an_interruption() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(StreamError(kind=ErrorKind.TIMEOUT, message="No data for 120 s.",
                              text="Buffered words"))
    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.content == "Buffered words"


def test_a_timeout_before_any_text_is_a_failure() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(Connected())
    tracker.apply(StreamError(kind=ErrorKind.TIMEOUT, message="No data for 120 s."))
    assert reply.status is MessageStatus.FAILED
    assert reply.content == ""
    assert reply.usage is None  # nothing was counted, so nothing is estimated


@pytest.mark.parametrize("kind", [ErrorKind.HTTP, ErrorKind.UNREACHABLE, ErrorKind.PROTOCOL])
def test_other_errors_fail_the_reply(kind: ErrorKind) -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(StreamError(kind=kind, message="It did not work.", status=422,
                              server_detail="messages.0.content: field required"))
    assert reply.status is MessageStatus.FAILED
    assert reply.error == "It did not work.\nServer said: messages.0.content: field required"


def test_error_text_does_not_repeat_a_detail_the_message_already_quotes() -> None:
    event = StreamError(kind=ErrorKind.HTTP, status=500,
                        message="HTTP 500 from the server: model overloaded",
                        server_detail="  model overloaded \n")
    assert error_text(event) == "HTTP 500 from the server: model overloaded"


def test_error_text_names_the_kind_when_the_message_is_empty() -> None:
    assert error_text(StreamError(kind=ErrorKind.HTTP, message="  ")) == (
        "The request failed (http).")


# -- cancel and end of stream -------------------------------------------------------------------


def test_cancel_keeps_the_text_and_marks_it_cancelled() -> None:
    tracker, reply, clock = make_tracker()
    tracker.apply(TextDelta("Half a thought"))
    clock.advance(2.0)
    tracker.cancel()

    assert reply.status is MessageStatus.CANCELLED
    assert reply.content == "Half a thought"
    assert reply.error is None
    assert reply.timings is not None and reply.timings.duration_s == pytest.approx(2.0)


def test_cancel_and_end_of_stream_do_nothing_after_completion() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(Finished(reason="stop", text="Done."))
    tracker.cancel()
    tracker.end_of_stream()
    assert reply.status is MessageStatus.COMPLETE
    assert reply.error is None
    assert reply.content == "Done."


def test_end_of_stream_without_a_final_event_is_an_interruption() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(TextDelta("Cut off"))
    tracker.end_of_stream()
    assert reply.status is MessageStatus.INTERRUPTED
    assert reply.content == "Cut off"
    assert reply.error == "The stream ended without a final event from the client."


def test_end_of_stream_after_an_error_keeps_the_error() -> None:
    tracker, reply, _ = make_tracker()
    tracker.apply(StreamError(kind=ErrorKind.HTTP, message="HTTP 401: bad key"))
    tracker.end_of_stream()
    assert reply.status is MessageStatus.FAILED
    assert reply.error == "HTTP 401: bad key"


# -- figures for the status bar -----------------------------------------------------------------


def _stream_five_deltas(tracker: ReplyTracker, clock: FakeClock) -> None:
    """First delta 0.5 s after the start, then four more over one second."""
    clock.advance(0.5)
    tracker.apply(TextDelta("a"))
    for _ in range(4):
        clock.advance(0.25)
        tracker.apply(TextDelta("b"))


def test_stats_count_deltas_when_the_server_sends_no_usage() -> None:
    tracker, _, clock = make_tracker()
    _stream_five_deltas(tracker, clock)
    stats = tracker.stats()
    assert stats.first_token_s == pytest.approx(0.5)
    assert stats.completion_tokens == 5
    assert stats.estimated is True
    assert stats.prompt_tokens is None
    assert stats.tokens_per_s == pytest.approx(4.0)  # 4 tokens after the first, in 1 s


def test_stats_prefer_the_servers_usage() -> None:
    tracker, _, clock = make_tracker()
    _stream_five_deltas(tracker, clock)
    tracker.apply(UsageReport(prompt_tokens=40, completion_tokens=21))
    stats = tracker.stats()
    assert stats.completion_tokens == 21
    assert stats.prompt_tokens == 40
    assert stats.estimated is False
    assert stats.tokens_per_s == pytest.approx(20.0)  # deltas can carry several tokens


def test_stats_keep_an_estimated_usage_estimated() -> None:
    tracker, _, clock = make_tracker()
    _stream_five_deltas(tracker, clock)
    tracker.apply(UsageReport(prompt_tokens=None, completion_tokens=7, estimated=True))
    assert tracker.stats().estimated is True


def test_stats_before_any_token_are_empty() -> None:
    tracker, _, clock = make_tracker()
    clock.advance(3.0)
    stats = tracker.stats()
    assert stats.first_token_s is None
    assert stats.tokens_per_s is None
    assert stats.completion_tokens is None


def test_no_rate_from_a_single_token_or_a_zero_time_span() -> None:
    tracker, _, clock = make_tracker()
    clock.advance(0.3)
    tracker.apply(TextDelta("x"))
    assert tracker.stats().tokens_per_s is None
    tracker.apply(TextDelta("y"))  # same instant: no span to divide by
    stats = tracker.stats()
    assert stats.completion_tokens == 2
    assert stats.tokens_per_s is None
    assert stats.first_token_s == pytest.approx(0.3)
