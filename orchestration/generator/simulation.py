"""The day-by-day simulation: world state (consent, push pressure, engagement) and the rows
of the daily sources it produces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator.calendars import Calendar, Window, diurnal_seconds, lognormal_seconds
from orchestration.generator.files import Sink, Written, ids, labels
from orchestration.generator.parameters import (
    ADMIN,
    ALL,
    APP_SETTINGS,
    BASE_HAZARD,
    CATEGORIES,
    CHANNELS,
    CHURN_AFTER_OPTOUT,
    CLICK,
    CLICK_AFTER_OPEN_P,
    CONSENT_CHANNELS,
    CONSENT_SOURCES,
    CONVERSION,
    CONVERSION_AFTER_CLICK_P,
    DAY,
    DELIVERY_P,
    DELIVERY_STATUSES,
    DISENGAGE_K,
    DISMISS,
    EMAIL,
    EVENT_NAMES,
    EVENT_P,
    EVENT_WEEKDAY,
    FIRST_REACTION_MEDIAN_S,
    FIRST_REACTION_P,
    FIRST_REACTION_TYPES,
    ID_WIDTH,
    IMPORT,
    IMPORT_OPTED_OUT_P,
    IMPORT_P,
    INBOUND_KEYWORD,
    INTERACTION_TYPES,
    MARKETING,
    MARKETING_SHARE,
    MID_IMPORT_USERS,
    OPEN,
    OPTED_IN,
    OPTED_OUT,
    OPTIN_KEYWORD_P,
    OPTIN_KEYWORDS,
    OPTIN_P,
    OPTIN_SOURCE_P,
    OPTOUT_KEYWORD_P,
    OPTOUT_KEYWORDS,
    OPTOUT_SOURCE_P,
    ORGANIC_INTERACTIONS_PER_USER,
    OTHER_CATEGORY_P,
    OWN_K,
    PUSH,
    PUSH_K,
    REASON_GIVEN_P,
    REASONS,
    REPEAT_P,
    REPEAT_SOURCE,
    SEND_WEEKDAY,
    SETTINGS_EVENT,
    SPIKE_DELAY_MEDIAN_S,
    SPIKE_HOURS,
    SPIKE_INTERACTED_P,
    SPIKE_OPTOUT_P,
    STATUSES,
    SUPPRESSION_LEAK,
    UNSUBSCRIBE_LINK,
    UNTRACKED_SEND_P,
)
from orchestration.generator.population import Population


class Simulation:
    """Day-by-day world state and the per-source row generators."""

    def __init__(
        self,
        rng,
        window: Window,
        pop: Population,
        cal: Calendar,
        user_ids: pa.ChunkedArray,
        campaign_ids: pa.ChunkedArray,
        out: Path,
        fmt: str,
        per_day: bool,
        written: Written,
    ) -> None:
        self.rng, self.window, self.pop, self.cal = rng, window, pop, cal
        self.n = len(pop.tz_offset)
        self.user_ids = user_ids.combine_chunks()
        self.campaign_ids = campaign_ids.combine_chunks()
        # Consent per (user, channel incl. all): -1 unknown, else OPTED_IN / OPTED_OUT.
        self.status = np.full((self.n, 5), -1, dtype=np.int8)
        # Ring buffer of delivered sends per day; seeded with the pressure of the days before
        # the window, so the first week's hazard is not artificially low.
        prior = rng.poisson(
            pop.rates.T * pop.reach[:, :4].T * np.array(DELIVERY_P)[:, :1], size=(7, 4, self.n)
        )
        self.delivered = prior.astype(np.int16)
        self.after_optout = np.ones(self.n)  # event rate multiplier; small once churned
        self.spike_send = np.full(self.n, -1, dtype=np.int64)
        self.spike_time = np.full(self.n, -1, dtype=np.int64)

        def sink(source: str, prefix: str, formatter) -> Sink:
            return Sink(source, window, out, fmt, per_day, prefix, formatter, written)

        self.sinks = {
            "sends": sink("sends", "s", self._format_sends),
            "interactions": sink("interactions", "i", self._format_interactions),
            "events": sink("events", "e", self._format_events),
            "consent_changes": sink("consent_changes", "cc", self._format_consent),
        }

    # -- driver ------------------------------------------------------------------------------

    def step(self, day: int) -> None:
        act = self.pop.activity(day)
        self._imports(day)
        self.sinks["sends"].add(self._sends(day))
        sends = self.sinks["sends"].flush(day)
        self._remember_sends(day, sends)
        self.sinks["interactions"].add(self._interactions(day, sends, act))
        self._consent(day, act)
        if day == self.cal.spike_day:
            self._spike_optouts(day)
        self.sinks["events"].add(self._events(day, act))
        self.sinks["interactions"].flush(day)
        self.sinks["consent_changes"].flush(day)
        self.sinks["events"].flush(day)

    def close(self) -> None:
        for s in self.sinks.values():
            s.close()

    def _times(self, day: int, users: np.ndarray) -> np.ndarray:
        return self.window.day_start(day) + diurnal_seconds(self.rng, self.pop.tz_offset[users])

    def _opted_out(self, channel: int) -> np.ndarray:
        return (self.status[:, channel] == OPTED_OUT) | (self.status[:, ALL] == OPTED_OUT)

    # -- sends ---------------------------------------------------------------------------------

    def _sends(self, day: int) -> dict[str, np.ndarray]:
        rng, pop, cal = self.rng, self.pop, self.cal
        weekday = SEND_WEEKDAY[self.window.dates[day].weekday()]
        day_start = self.window.day_start(day)
        parts = []
        for ch in range(4):
            out = self._opted_out(ch)
            rate = pop.rates[:, ch] * pop.reach[:, ch] * weekday
            marketing = rng.poisson(
                rate * MARKETING_SHARE[ch] * np.where(out, SUPPRESSION_LEAK, 1.0)
            )
            other = rng.poisson(rate * (1 - MARKETING_SHARE[ch]))
            users = np.repeat(np.arange(self.n), marketing + other)
            # Per user: its marketing sends first, then the others.
            is_marketing = np.repeat(
                np.tile([True, False], self.n), np.column_stack([marketing, other]).ravel()
            )
            category = np.where(
                is_marketing, MARKETING, 1 + rng.choice(3, size=len(users), p=OTHER_CATEGORY_P[ch])
            )
            campaign = np.full(len(users), -1, dtype=np.int64)
            for cat in range(4):
                rows = np.flatnonzero(category == cat)
                active = cal.active(day, ch, cat)
                if len(rows) and len(active):
                    campaign[rows] = active[rng.integers(0, len(active), size=len(rows))]
            t = self._times(day, users)
            # A send cannot precede its campaign's start on the campaign's first day.
            floor = np.where(campaign >= 0, cal.start[campaign] - day_start, 0).clip(0)
            late = t - day_start < floor
            t[late] = day_start + floor[late] + (rng.random(late.sum()) * (DAY - floor[late]))
            parts.append((users, campaign, np.full(len(users), ch, dtype=np.int8), category, t))

            # Blasts of scheduled marketing campaigns starting today (the spike included).
            for c in np.flatnonzero(
                (cal.start_day == day) & (cal.channel == ch) & (cal.blast_share > 0)
            ).tolist():
                hit = pop.reach[:, ch] & ~out & (rng.random(self.n) < cal.blast_share[c])
                users = np.flatnonzero(hit)
                hours = SPIKE_HOURS if c == cal.spike else (None,)
                for hour in hours:
                    base = cal.start[c] if hour is None else day_start + hour * 3600
                    # Blasts roll out over ~15 minutes; stay within the day.
                    t = np.minimum(
                        base + rng.integers(0, 900, size=len(users)), day_start + DAY - 1
                    )
                    parts.append(
                        (
                            users,
                            np.full(len(users), c),
                            np.full(len(users), ch, np.int8),
                            np.full(len(users), MARKETING),
                            t,
                        )
                    )

        users, campaign, channel, category, t = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        cdf = np.cumsum(DELIVERY_P, axis=1)[channel]
        u = rng.random(len(users))
        status = (u >= cdf[:, 0]).astype(np.int8) + (u >= cdf[:, 1])
        return {
            "t": t.astype(np.int64),
            "user": users,
            "campaign": campaign.astype(np.int64),
            "channel": channel,
            "category": category.astype(np.int8),
            "status": status,
        }

    def _remember_sends(self, day: int, sends: dict[str, np.ndarray]) -> None:
        """Delivered counts per channel for the 7-day pressure; first spike send per user."""
        slot = self.delivered[day % 7]
        slot[:] = 0
        if not sends:
            return
        ok = sends["status"] == 0
        for ch in range(4):
            users = sends["user"][ok & (sends["channel"] == ch)]
            slot[ch] = np.minimum(np.bincount(users, minlength=self.n), np.iinfo(np.int16).max)
        if day == self.cal.spike_day:
            spike = ok & (sends["campaign"] == self.cal.spike)
            users, first = np.unique(sends["user"][spike], return_index=True)
            self.spike_send[users] = sends["id"][spike][first]
            self.spike_time[users] = sends["t"][spike][first]

    # -- interactions -----------------------------------------------------------------------

    def _interactions(
        self, day: int, sends: dict[str, np.ndarray], act: np.ndarray
    ) -> dict[str, np.ndarray]:
        rng = self.rng
        parts = []
        if sends:
            ok = np.flatnonzero(sends["status"] == 0)
            user, ch = sends["user"][ok], sends["channel"][ok]
            engagement = 0.3 + 0.7 * act[user]  # fading users react less
            cdf = np.cumsum(FIRST_REACTION_P, axis=1)[ch] * engagement[:, None]
            pick = (rng.random(len(ok))[:, None] >= cdf).sum(axis=1)
            reacted = pick < 4
            src = ok[reacted]
            kind = FIRST_REACTION_TYPES[pick[reacted]]
            t = sends["t"][src] + lognormal_seconds(
                rng, FIRST_REACTION_MEDIAN_S[pick[reacted]], 1.2, len(src)
            )
            parts.append((src, kind, t))
            # Follow-ups: a click after an open, a conversion after a click.
            opened = kind == OPEN
            p_click = np.array(CLICK_AFTER_OPEN_P)[sends["channel"][src[opened]]]
            clicked = rng.random(opened.sum()) < p_click * engagement[reacted][opened]
            c_src = src[opened][clicked]
            c_t = t[opened][clicked] + lognormal_seconds(rng, 45.0, 1.0, len(c_src))
            parts.append((c_src, np.full(len(c_src), CLICK, np.int8), c_t))
            all_clicks_src = np.concatenate([src[kind == CLICK], c_src])
            all_clicks_t = np.concatenate([t[kind == CLICK], c_t])
            conv = rng.random(len(all_clicks_src)) < CONVERSION_AFTER_CLICK_P
            parts.append(
                (
                    all_clicks_src[conv],
                    np.full(conv.sum(), CONVERSION, np.int8),
                    all_clicks_t[conv] + lognormal_seconds(rng, 600.0, 1.0, conv.sum()),
                )
            )
            src, kind, t = (np.concatenate(x) for x in zip(*parts, strict=True))
            send_id = np.where(rng.random(len(src)) < UNTRACKED_SEND_P, -1, sends["id"][src])
            rows = {
                "t": t,
                "user": sends["user"][src],
                "campaign": sends["campaign"][src],
                "send": send_id,
                "channel": sends["channel"][src],
                "kind": kind,
            }
        else:
            rows = {k: np.zeros(0, np.int64) for k in ("t", "user", "campaign", "send")}
            rows |= {"channel": np.zeros(0, np.int8), "kind": np.zeros(0, np.int8)}

        # Organic inbox opens / link clicks: no send, no campaign.
        n_org = rng.poisson(ORGANIC_INTERACTIONS_PER_USER * self.n)
        users = rng.integers(0, self.n, size=n_org)
        organic = {
            "t": self._times(day, users),
            "user": users,
            "campaign": np.full(n_org, -1),
            "send": np.full(n_org, -1),
            "channel": rng.choice([PUSH, EMAIL], size=n_org).astype(np.int8),
            "kind": np.where(rng.random(n_org) < 0.7, OPEN, CLICK).astype(np.int8),
        }
        return {k: np.concatenate([rows[k], organic[k]]) for k in rows}

    # -- consent ----------------------------------------------------------------------------

    def _imports(self, day: int) -> None:
        """CRM imports set the starting state; a smaller re-import happens mid-window."""
        rng = self.rng
        mid = self.window.days // 2 if self.window.days >= 10 else -1
        if day == 0:
            chosen = self.pop.reach[:, :4] & (rng.random((self.n, 4)) < IMPORT_P)
        elif day == mid:
            chosen = np.zeros((self.n, 4), dtype=bool)
            picked = np.flatnonzero(rng.random(self.n) < MID_IMPORT_USERS)
            chosen[picked, rng.integers(0, 4, size=len(picked))] = True
            chosen &= self.pop.reach[:, :4]
        else:
            return
        users, channel = np.nonzero(chosen)
        out_p = IMPORT_OPTED_OUT_P if day == 0 else 0.3
        status = np.where(rng.random(len(users)) < out_p, OPTED_OUT, OPTED_IN).astype(np.int8)
        # The import job runs just after midnight UTC.
        t = self.window.day_start(day) + 300 + rng.integers(0, 1800, size=len(users))
        self.status[users, channel] = status
        self._add_changes(users, channel, status, np.full(len(users), IMPORT), t)

    def _consent(self, day: int, act: np.ndarray) -> None:
        rng, pop = self.rng, self.pop
        push_7d = self.delivered[:, PUSH].sum(axis=0, dtype=np.int64)
        own_7d = self.delivered.sum(axis=0, dtype=np.int64)  # (4, n)
        global_out = self.status[:, ALL] == OPTED_OUT
        for ch in range(5):
            out = self.status[:, ch] == OPTED_OUT
            fatigue = 1 + PUSH_K[ch] * push_7d + (OWN_K[ch] * own_7d[ch] if ch < 4 else 0)
            hazard = BASE_HAZARD[ch] * pop.sensitivity * fatigue * (1 + DISENGAGE_K * (1 - act))
            eligible = pop.reach[:, ch] & ~out & (~global_out if ch != ALL else True)
            optout = np.flatnonzero(eligible & (rng.random(self.n) < hazard))
            u = rng.random(self.n)
            optin = np.flatnonzero(out & (u < OPTIN_P))
            repeat = np.flatnonzero(out & (u >= OPTIN_P) & (u < OPTIN_P + REPEAT_P[ch]))

            self._optouts(optout, ch, self._times(day, optout), act, push_7d)
            self.status[optin, ch] = OPTED_IN
            source = rng.choice(6, size=len(optin), p=OPTIN_SOURCE_P[ch])
            self._add_changes(
                optin,
                np.full(len(optin), ch),
                np.full(len(optin), OPTED_IN),
                source,
                self._times(day, optin),
            )
            self._add_changes(
                repeat,
                np.full(len(repeat), ch),
                np.full(len(repeat), OPTED_OUT),
                np.full(len(repeat), REPEAT_SOURCE[ch]),
                self._times(day, repeat),
            )

    def _spike_optouts(self, day: int) -> None:
        """Signal 2: recipients of the spike opt out within hours, right after reacting."""
        rng = self.rng
        got = self.spike_send >= 0
        eligible = got & ~self._opted_out(PUSH)
        users = np.flatnonzero(eligible & (rng.random(self.n) < SPIKE_OPTOUT_P))
        t = self.spike_time[users] + np.maximum(
            60, lognormal_seconds(rng, SPIKE_DELAY_MEDIAN_S, 0.9, len(users))
        )
        channel = np.where(rng.random(len(users)) < 0.85, PUSH, ALL)
        act = self.pop.activity(day)
        push_7d = self.delivered[:, PUSH].sum(axis=0, dtype=np.int64)
        for ch in (PUSH, ALL):
            sel = channel == ch
            self._optouts(users[sel], ch, t[sel], act, push_7d, spike=True)

        # Most of them dismissed or opened the spike push just before opting out.
        reacted = rng.random(len(users)) < SPIKE_INTERACTED_P
        users, t = users[reacted], t[reacted]
        it = np.maximum(self.spike_time[users] + 1, t - rng.integers(5, 90, size=len(users)))
        self.sinks["interactions"].add(
            {
                "t": it,
                "user": users,
                "campaign": np.full(len(users), self.cal.spike),
                "send": self.spike_send[users],
                "channel": np.full(len(users), PUSH, np.int8),
                "kind": np.where(rng.random(len(users)) < 0.55, DISMISS, OPEN).astype(np.int8),
            }
        )

    def _optouts(
        self,
        users: np.ndarray,
        ch: int,
        t: np.ndarray,
        act: np.ndarray,
        push_7d: np.ndarray,
        spike: bool = False,
    ) -> None:
        """Record status changes to opted_out with a source, keyword and optional reason."""
        rng = self.rng
        n = len(users)
        if n == 0:
            return
        self.status[users, ch] = OPTED_OUT
        source_p = (0.8, 0.0, 0.0, 0.1, 0.1, 0.0) if spike else OPTOUT_SOURCE_P[ch]
        source = rng.choice(6, size=n, p=source_p)
        # Reasons come from forms (settings, unsubscribe page, support); pressure shows in them.
        p_too_many = 0.6 if spike else np.clip(0.15 + 0.02 * push_7d[users], 0, 0.75)
        other = rng.integers(1, len(REASONS), size=n)
        reason = np.where(rng.random(n) < p_too_many, 0, other)
        asked = np.isin(source, [APP_SETTINGS, UNSUBSCRIBE_LINK, ADMIN])
        reason = np.where(asked & (rng.random(n) < REASON_GIVEN_P), reason, -1)
        self._add_changes(users, np.full(n, ch), np.full(n, OPTED_OUT), source, t, reason)

        # Users opening the settings screen before switching notifications off.
        settings = source == APP_SETTINGS
        floor = self.window.day_start(self.sinks["events"].flushed + 1)
        et = np.maximum(floor, t[settings] - rng.integers(20, 600, size=settings.sum()))
        self.sinks["events"].add(
            {"t": et, "user": users[settings], "name": np.full(settings.sum(), SETTINGS_EVENT)}
        )
        # Some users stop using the app after opting out; fading ones more often.
        a, b = CHURN_AFTER_OPTOUT
        churn = rng.random(n) < a + b * (1 - act[users])
        self.after_optout[users[churn]] = 0.03

    def _add_changes(self, users, channel, status, source, t, reason=None) -> None:
        n = len(users)
        if n == 0:
            return
        keyword = np.full(n, -1)
        inbound = np.flatnonzero(source == INBOUND_KEYWORD)
        out_kw = status[inbound] == OPTED_OUT
        keyword[inbound] = np.where(
            out_kw,
            self.rng.choice(len(OPTOUT_KEYWORDS), size=len(inbound), p=OPTOUT_KEYWORD_P),
            100 + self.rng.choice(len(OPTIN_KEYWORDS), size=len(inbound), p=OPTIN_KEYWORD_P),
        )
        self.sinks["consent_changes"].add(
            {
                "t": np.asarray(t, dtype=np.int64),
                "user": users,
                "channel": np.asarray(channel, dtype=np.int8),
                "status": np.asarray(status, np.int8),
                "source": np.asarray(source, dtype=np.int8),
                "keyword": keyword,
                "reason": np.full(n, -1) if reason is None else reason,
            }
        )

    # -- events ---------------------------------------------------------------------------

    def _events(self, day: int, act: np.ndarray) -> dict[str, np.ndarray]:
        rng = self.rng
        weekday = EVENT_WEEKDAY[self.window.dates[day].weekday()]
        rate = self.pop.event_rate * weekday * act * self.after_optout
        users = np.repeat(np.arange(self.n), rng.poisson(rate))
        names = rng.choice(len(EVENT_NAMES), size=len(users), p=np.array(EVENT_P) / sum(EVENT_P))
        return {"t": self._times(day, users), "user": users, "name": names}

    # -- formatting ---------------------------------------------------------------------------

    def _user(self, users: np.ndarray) -> pa.Array:
        return self.user_ids.take(users)

    def _campaign(self, campaigns: np.ndarray) -> pa.Array:
        return self.campaign_ids.take(pa.array(campaigns, mask=campaigns < 0))

    def _format_sends(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "send_id": ids("s", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "campaign_id": self._campaign(c["campaign"]),
                "channel": labels(CHANNELS, c["channel"]),
                "message_category": labels(CATEGORIES, c["category"]),
                "sent_at": ts,
                "delivery_status": labels(DELIVERY_STATUSES, c["status"]),
            }
        )

    def _format_interactions(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "interaction_id": ids("i", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "campaign_id": self._campaign(c["campaign"]),
                "send_id": ids("s", c["send"], ID_WIDTH),
                "channel": labels(CHANNELS, c["channel"]),
                "interaction_type": labels(INTERACTION_TYPES, c["kind"]),
                "occurred_at": ts,
            }
        )

    def _format_events(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "event_id": ids("e", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "event_name": labels(EVENT_NAMES, c["name"]),
                "occurred_at": ts,
            }
        )

    def _format_consent(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        kw = c["keyword"]
        keyword = pc.coalesce(
            labels(OPTOUT_KEYWORDS, np.where(kw < 100, kw, -1)),
            labels(OPTIN_KEYWORDS, np.where(kw >= 100, kw - 100, -1)),
        )
        return pa.table(
            {
                "change_id": ids("cc", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "channel": labels(CONSENT_CHANNELS, c["channel"]),
                "status": labels(STATUSES, c["status"]),
                "changed_at": ts,
                "source": labels(CONSENT_SOURCES, c["source"]),
                "keyword": keyword,
                "reason": labels(REASONS, c["reason"]),
            }
        )
