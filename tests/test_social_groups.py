"""The group rules without I/O (server/social/groups.py): every role tries every action; invites; moderation."""

from __future__ import annotations

import pytest

from server import limits
from server.social.groups import ALLOWED, MUTED_CANNOT, Group, SocialError, new_code, normal_code


def group_with_everyone() -> Group:
    group = Group.create("g1", "boutique", "main", "owner", "Olive", now=0.0)
    group.add_invite("owner", "ABCDEF", 0.0, uses=5, ttl_s=600)
    group.accept("ABCDEF", "member", "Max", 1.0)
    group.accept("ABCDEF", "muted", "Mo", 2.0)
    group.set_muted("owner", "muted", True)
    group.call_advisor("member", 3.0)
    group.add_advisor("staff", "Sam", 4.0)
    return group


@pytest.mark.parametrize("action", sorted(ALLOWED))
@pytest.mark.parametrize("who,role", [("owner", "owner"), ("member", "member"), ("staff", "advisor"),
                                      ("muted", "member")])
def test_every_role_may_do_exactly_what_the_table_says(action, who, role):
    group = group_with_everyone()
    allowed = role in ALLOWED[action] and not (who == "muted" and action in MUTED_CANNOT)
    if allowed:
        assert group.require(who, action).member == who
    else:
        with pytest.raises(SocialError) as refused:
            group.require(who, action)
        assert refused.value.status == 403 and refused.value.code in ("not_allowed", "muted")


def test_strangers_may_do_nothing():
    group = group_with_everyone()
    for action in ALLOWED:
        with pytest.raises(SocialError) as refused:
            group.require("stranger", action)
        assert refused.value.code == "not_a_member"


def test_members_cannot_moderate_and_the_owner_cannot_moderate_themselves():
    group = group_with_everyone()
    for attempt in (lambda: group.set_muted("member", "owner", True), lambda: group.remove("member", "muted"),
                    lambda: group.remove("staff", "member"), lambda: group.add_invite("staff", "QQQQQQ", 5, 1, 600)):
        with pytest.raises(SocialError) as refused:
            attempt()
        assert refused.value.code == "not_allowed"
    with pytest.raises(SocialError):
        group.remove("owner", "owner")


def test_a_removed_member_never_rejoins():
    group = group_with_everyone()
    group.remove("owner", "member")
    group.add_invite("owner", "NEWONE", 10.0, uses=3, ttl_s=600)
    with pytest.raises(SocialError) as refused:
        group.accept("NEWONE", "member", "Max", 11.0)
    assert refused.value.code == "removed_from_group"


def test_invites_expire_and_run_out():
    group = Group.create("g1", "boutique", "main", "owner", "Olive", now=0.0)
    group.add_invite("owner", "ONEUSE", 0.0, uses=1, ttl_s=60)
    group.accept("ONEUSE", "a", "A", 1.0)
    assert group.accept("ONEUSE", "a", "A", 2.0).member == "a"  # using it again as a member changes nothing
    with pytest.raises(SocialError) as used:
        group.accept("ONEUSE", "b", "B", 2.0)
    assert used.value.code == "invite_used_up"
    group.add_invite("owner", "SHORTT", 0.0, uses=5, ttl_s=60)
    with pytest.raises(SocialError) as late:
        group.accept("SHORTT", "b", "B", 60.0)
    assert late.value.code == "invite_expired"
    for uses, ttl in ((0, 60), (int(limits.get("max_invite_uses")) + 1, 60), (1, 10),
                      (1, limits.get("max_invite_ttl_s") + 1)):
        with pytest.raises(SocialError):
            group.add_invite("owner", "BADONE", 0.0, uses=uses, ttl_s=ttl)


def test_a_group_is_full_at_its_limit():
    group = Group.create("g1", "boutique", "main", "owner", "Olive", now=0.0)
    group.add_invite("owner", "MANYYY", 0.0, uses=20, ttl_s=600)
    for i in range(int(limits.get("max_group_members")) - 1):
        group.accept("MANYYY", f"m{i}", "M", 1.0 + i)
    with pytest.raises(SocialError) as full:
        group.accept("MANYYY", "late", "L", 50.0)
    assert full.value.code == "group_full"


def test_ownership_passes_to_the_earliest_shopper_and_advisors_alone_end_it():
    group = group_with_everyone()
    assert group.leave("owner").member == "member"
    assert group.members["member"].role == "owner"
    group.leave("member")
    assert group.members["muted"].role == "owner"
    group.leave("muted")
    assert group.ended and list(group.members) == ["staff"]


def test_state_round_trips_through_storage_form():
    group = group_with_everyone()
    again = Group.from_dict(group.to_dict())
    assert again == group


def test_codes_are_unambiguous_and_forgiving():
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and not set(c) & set("01OIL") for c in codes) and len(codes) > 190
    assert normal_code("ab3-d ef") == "AB3DEF"
