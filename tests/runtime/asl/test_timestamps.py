import pytest

from runtime.asl.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    "text",
    [
        "2016-03-14T01:59:00Z",
        "2016-03-14T01:59:00.123Z",
        "2016-03-05T21:29:29.243167252Z",
        "2016-03-14T01:59:00+05:30",
        "2016-03-14T01:59Z",
    ],
)
def test_offset_date_times_parse(text):
    assert parse_timestamp(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "2016-12-05T21:29:29",
        "2016-12-05 21:29:29Z",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "2025-12-31",
        "",
        None,
        12,
    ],
)
def test_anything_else_does_not(text):
    assert parse_timestamp(text) is None


def test_offsets_and_fractions_are_exact():
    assert parse_timestamp("1970-01-01T01:00:00+01:00") == 0
    assert parse_timestamp("1970-01-01T00:00:00.000000001Z") == 1


def test_timestamps_are_formatted_like_aws_with_milliseconds():
    assert format_timestamp(1_767_225_600.25) == "2026-01-01T00:00:00.250Z"
