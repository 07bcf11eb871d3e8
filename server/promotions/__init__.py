"""Promotions: team buys, referral rewards, coupons and treasure hunts (docs/PROMOTIONS.md)."""
