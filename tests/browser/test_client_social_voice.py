"""Voice between two friends (docs/SOCIAL.md "Voice"): Chromium's fake microphone, two pages of one browser join
the call; the member with the smaller id offers over the room websocket (`rtc`), the audio flows peer to peer
(inbound-rtp bytes grow on both sides); a muted microphone sends nothing (the track is taken off the sender, so
outbound-rtp bytes stop), push-to-talk sends while held, and a member the owner mutes is silenced at the other end
and stops sending."""

from __future__ import annotations

import time

from tests.browser.conftest import pair, panel_button

SETTLE_S = 1.5  # wall time is the point here: audio packets flow at 50 per second


def stats(page) -> dict:  # type: ignore[no-untyped-def]
    return page.evaluate("plaza.social.voice.stats()")


def peer_stats(page, member: str) -> dict:  # type: ignore[no-untyped-def]
    return stats(page)[member]


def wait_bytes(page, member: str, field: str, more_than: int, timeout_s: float = 40) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = stats(page).get(member, {}).get(field, 0)
        if value > more_than:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{field} from/to {member} stayed at or below {more_than}: {stats(page)}")


def sent_over(page, member: str, seconds: float) -> int:  # type: ignore[no-untyped-def]
    before = peer_stats(page, member)["bytesSent"]
    time.sleep(seconds)
    return peer_stats(page, member)["bytesSent"] - before


def test_two_pages_talk_and_a_muted_member_sends_no_audio(new_media_page, operator_server) -> None:
    small = {"width": 560, "height": 360}
    ana, ben, _ = pair(new_media_page, operator_server, small)
    ana_member = ana.evaluate("plaza.social.group.you")
    ben_member = ben.evaluate("plaza.social.group.you")
    for page in (ana, ben):
        if page.locator("#social-panel").is_hidden():
            page.locator("#open-social").click()
        panel_button(page, "tab:people").click()
        panel_button(page, "voice").click()
        page.wait_for_function("plaza.social.voice.on")
    # One peer connection each way, made by the member with the smaller id, with audio flowing both ways.
    for page, other in ((ana, ben_member), (ben, ana_member)):
        page.wait_for_function(f"plaza.social.voice.peers.get('{other}')?.pc.connectionState === 'connected'",
                               timeout=60000)
    got = wait_bytes(ben, ana_member, "bytesReceived", 0)
    wait_bytes(ben, ana_member, "bytesReceived", got + 500)
    wait_bytes(ana, ben_member, "bytesReceived", 0)
    assert sent_over(ana, ben_member, SETTLE_S) > 0

    # Ana mutes her microphone: the track leaves the sender and her outbound bytes stop.
    ana.locator('#social-bar button[data-id="mic"]').click()
    ana.wait_for_function("plaza.social.voice.muted && !plaza.social.voice.sending")
    assert peer_stats(ana, ben_member)["sending"] is False
    time.sleep(SETTLE_S)  # packets already on their way
    assert sent_over(ana, ben_member, 2 * SETTLE_S) == 0
    # Ben still talks to her.
    received = peer_stats(ana, ben_member)["bytesReceived"]
    wait_bytes(ana, ben_member, "bytesReceived", received + 500)

    # Push-to-talk: held (V), Ana is heard again; let go, nothing goes out.
    ana.keyboard.down("v")
    ana.wait_for_function("plaza.social.voice.sending")
    sent = peer_stats(ana, ben_member)["bytesSent"]
    wait_bytes(ana, ben_member, "bytesSent", sent + 500)
    ana.keyboard.up("v")
    ana.wait_for_function("!plaza.social.voice.sending")
    time.sleep(SETTLE_S)
    assert sent_over(ana, ben_member, 2 * SETTLE_S) == 0

    # Ana owns the group and mutes Ben: his page stops sending, and hers silences his audio whatever arrives.
    panel_button(ana, f"mute:{ben_member}").click()
    ben.wait_for_function("plaza.social.group.muted && !plaza.social.voice.sending", timeout=30000)
    ana.wait_for_function(f"plaza.social.voice.peers.get('{ben_member}')?.audio.muted === true", timeout=30000)
    assert peer_stats(ana, ben_member)["remoteMuted"] is True
    time.sleep(SETTLE_S)
    assert sent_over(ben, ana_member, 2 * SETTLE_S) == 0
    assert ana.errors == [] and ben.errors == []
