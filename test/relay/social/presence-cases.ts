import { cellToLatLng, latLngToCell } from 'h3-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceOutcome, PresenceUpdate, SocialStore } from '../../../relay/social/contract.js';
import { isPlausibleMove, placeOf } from '../../../relay/social/geo.js';
import type { SocialBackend } from './account-cases.js';
import { newUid, T0, WINDOW } from './contract.js';

const MINUTE = 60_000;
const KMH = 300;
const PARIS = latLngToCell(48.8584, 2.2945, 10);
const PARIS_NEXT_DOOR = latLngToCell(48.8588, 2.2945, 10);
const PARIS_FAR_SIDE = latLngToCell(48.8584, 2.3245, 10); // about 2.2 km east: not in range
const BERLIN = latLngToCell(52.52, 13.405, 10);

/**
 * SocialStore.updatePresence on every backend: several updates of one event-loop turn (the Redis
 * store takes them in one script on a standalone server, in per-slot steps on a Cluster), each as
 * if alone and in order.
 */
export function presenceCases(name: string, make: () => Promise<SocialBackend>): void {
  describe(`${name} social store: a presence update in one step`, () => {
    let backend: SocialBackend;
    let store: SocialStore;
    let alice: string;
    let bob: string;
    let carol: string;

    beforeEach(async () => {
      backend = await make();
      store = backend.store;
      [alice, bob, carol] = [newUid(), newUid(), newUid()];
    });
    afterEach(() => backend.close());

    function update(
      uid: string,
      cell: string | null,
      now: number,
      friends: readonly string[] = [],
      intervalMs = MINUTE,
    ): PresenceUpdate {
      return {
        uid,
        now,
        windowMs: WINDOW,
        intervalMs,
        maxKmh: KMH,
        place: cell === null ? null : placeOf(cell),
        friends,
      };
    }

    /** Updates made in one turn, none awaited before the next is made. */
    const turn = (updates: PresenceUpdate[]): Promise<PresenceOutcome[]> =>
      Promise.all(updates.map((u) => store.updatePresence(u)));

    it('stores the presence and reads it back, a blind update keeping the last cell as its anchor', async () => {
      expect(await store.updatePresence(update(alice, PARIS, T0))).toEqual({ status: 'ok', met: [] });
      expect(await store.lastPresence(alice, T0 + 1)).toEqual({ cell: PARIS, at: T0 });
      expect(await store.updatePresence(update(alice, null, T0 + MINUTE))).toEqual({ status: 'ok', met: [] });
      expect(await store.lastPresence(alice, T0 + MINUTE + 1)).toEqual({
        cell: null,
        at: T0 + MINUTE,
        anchor: { cell: PARIS, at: T0 },
      });
      // Two minutes from Paris to Berlin: refused against the anchor the blind update kept.
      expect(await store.updatePresence(update(alice, BERLIN, T0 + 2 * MINUTE))).toEqual({
        status: 'implausible_move',
      });
      // The anchor does not outlive the window of the cell it names.
      await store.updatePresence(update(alice, null, T0 + WINDOW - 1));
      expect((await store.lastPresence(alice, T0 + WINDOW))?.anchor).toEqual({ cell: PARIS, at: T0 });
      await store.updatePresence(update(alice, null, T0 + WINDOW + MINUTE));
      expect(await store.lastPresence(alice, T0 + WINDOW + MINUTE)).toEqual({
        cell: null,
        at: T0 + WINDOW + MINUTE,
      });
    });

    it('runs a turn of several updates in order: a second one within the interval is too frequent', async () => {
      const [first, second, other] = await turn([
        update(alice, PARIS, T0),
        update(alice, PARIS_NEXT_DOOR, T0 + 1),
        update(bob, PARIS, T0 + 2),
      ]);
      expect([first, second, other]).toEqual([
        { status: 'ok', met: [] },
        { status: 'too_frequent' },
        { status: 'ok', met: [] },
      ]);
      // Nothing of the refused one was kept, and the slot stands as the first took it.
      expect(await store.lastPresence(alice, T0 + 3)).toEqual({ cell: PARIS, at: T0 });
      expect((await store.summary(alice, T0 + 3)).rates.presence).toEqual({ nextAt: T0 + MINUTE });
      expect(await store.updatePresence(update(alice, PARIS_NEXT_DOOR, T0 + MINUTE))).toMatchObject({
        status: 'ok',
      });
    });

    it('takes no slot with an interval of 0', async () => {
      const outcomes = await turn([0, 1, 2].map((i) => update(alice, PARIS, T0 + i, [], 0)));
      expect(outcomes.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
      expect((await store.summary(alice, T0 + 3)).rates.presence).toBeNull();
    });

    it('refuses an implausible jump in a turn, spending its slot, while the others go on', async () => {
      await store.updatePresence(update(alice, PARIS, T0, [bob]));
      const [jump, friend, again] = await turn([
        update(alice, BERLIN, T0 + MINUTE, [bob]),
        update(bob, PARIS_NEXT_DOOR, T0 + MINUTE + 1, [alice]),
        update(alice, PARIS, T0 + MINUTE + 2, [bob]),
      ]);
      expect(jump).toEqual({ status: 'implausible_move' });
      // Alice is still where she was: bob meets her there.
      expect(friend).toEqual({ status: 'ok', met: [{ friend: alice, since: T0, until: T0 + WINDOW }] });
      expect(again).toEqual({ status: 'too_frequent' });
      expect(await store.lastPresence(alice, T0 + MINUTE + 3)).toEqual({ cell: PARIS, at: T0 });
    });

    it('decides the jump check as isPlausibleMove does, near the speed limit', async () => {
      // Pairs of cells 2 to 40 km apart, the second update at 0.8 to 1.2 times the time the limit allows.
      const cases = Array.from({ length: 24 }, (_, i) => {
        const from = latLngToCell(45 + i * 0.37, -120 + i * 7.3, 10);
        const [lat, lng] = cellToLatLng(from);
        const to = latLngToCell(lat + 0.018 * (1 + (i % 20)), lng + 0.01 * (i % 3), 10);
        const allowedMs = (distanceKm(from, to) / KMH) * 3_600_000;
        return { uid: newUid(), from, to, later: Math.round(allowedMs * (0.8 + (i % 9) * 0.05)) };
      });
      await turn(cases.map((c) => update(c.uid, c.from, T0, [], 0)));
      const outcomes = await turn(cases.map((c) => update(c.uid, c.to, T0 + c.later, [], 0)));
      const expected = cases.map((c) =>
        isPlausibleMove(c.from, T0, c.to, T0 + c.later, KMH) ? 'ok' : 'implausible_move',
      );
      expect(outcomes.map((o) => o.status)).toEqual(expected);
      // Both answers occur, so the limit itself was tested.
      expect(new Set(expected)).toEqual(new Set(['ok', 'implausible_move']));
    });

    it('lets a step to a cell in range pass however little time went by', async () => {
      await store.updatePresence(update(alice, PARIS, T0, [], 0));
      expect(await store.updatePresence(update(alice, PARIS_NEXT_DOOR, T0, [], 0))).toEqual({
        status: 'ok',
        met: [],
      });
      expect(await store.updatePresence(update(alice, PARIS_FAR_SIDE, T0, [], 0))).toEqual({
        status: 'implausible_move',
      });
    });

    it('matches two friends updating in the same turn, as one encounter', async () => {
      const [a, b] = await turn([
        update(alice, PARIS, T0, [bob]),
        update(bob, PARIS_NEXT_DOOR, T0 + 1, [alice]),
      ]);
      const encounter = { since: T0, until: T0 + WINDOW };
      // On one server the second update sees the first's presence; on a Cluster each may see the
      // other: either way both name the same encounter (the notices are idempotent under it).
      const reported = [
        ...(a?.status === 'ok' ? a.met : []).map((m) => ({ ...m, by: alice })),
        ...(b?.status === 'ok' ? b.met : []).map((m) => ({ ...m, by: bob })),
      ];
      expect(reported.length).toBeGreaterThanOrEqual(1);
      for (const m of reported) {
        expect({ since: m.since, until: m.until }).toEqual(encounter);
        expect(m.friend).toBe(m.by === alice ? bob : alice);
      }
      expect(await store.inRange(alice, bob, T0 + 2)).toBe(true);
      // Once notified, neither side's next update reports it again.
      await store.markNotified(bob, alice, T0);
      const again = await turn([
        update(alice, PARIS, T0 + MINUTE, [bob]),
        update(bob, PARIS_NEXT_DOOR, T0 + MINUTE + 1, [alice]),
      ]);
      expect(again).toEqual([
        { status: 'ok', met: [] },
        { status: 'ok', met: [] },
      ]);
    });

    it('reports an encounter whose notices were not marked filed again, extended, with its start', async () => {
      await store.updatePresence(update(alice, PARIS, T0, [bob]));
      expect(await store.updatePresence(update(bob, PARIS, T0 + 10, [alice]))).toEqual({
        status: 'ok',
        met: [{ friend: alice, since: T0, until: T0 + WINDOW }],
      });
      // The relay died before markNotified: the next update of either files the notices again.
      expect(await store.updatePresence(update(alice, PARIS, T0 + MINUTE, [bob]))).toEqual({
        status: 'ok',
        met: [{ friend: bob, since: T0, until: T0 + 10 + WINDOW }],
      });
    });

    it('matches only the friends given whose live cell is in range, in their order', async () => {
      const [dave, erin, frank] = [newUid(), newUid(), newUid()];
      await turn([
        update(bob, PARIS_NEXT_DOOR, T0 - WINDOW + 1), // gone by the time alice updates
        update(carol, PARIS, T0), // in range, not among alice's friends
        update(dave, PARIS_FAR_SIDE, T0),
        update(erin, null, T0), // blind: matched by tokens only
        update(frank, PARIS, T0 + 1),
      ]);
      const outcome = await store.updatePresence(
        update(alice, PARIS, T0 + 2, [frank, bob, dave, erin, newUid()]),
      );
      expect(outcome).toEqual({
        status: 'ok',
        met: [{ friend: frank, since: T0 + 1, until: T0 + 1 + WINDOW }],
      });
      expect(await store.inRange(alice, carol, T0 + 3)).toBe(false);
      expect(await store.inRange(alice, bob, T0 + 3)).toBe(false);
    });

    it('matches nobody for a blind update, whatever friends it is given', async () => {
      await store.updatePresence(update(bob, PARIS, T0));
      expect(await store.updatePresence(update(alice, null, T0 + 1, [bob]))).toEqual({
        status: 'ok',
        met: [],
      });
      expect(await store.inRange(alice, bob, T0 + 2)).toBe(false);
    });
  });
}

/** Kilometres between two cells' centres (the haversine; only to place the test's cases). */
function distanceKm(a: string, b: string): number {
  const [lat1, lng1] = cellToLatLng(a).map((d) => (d * Math.PI) / 180) as [number, number];
  const [lat2, lng2] = cellToLatLng(b).map((d) => (d * Math.PI) / 180) as [number, number];
  const h =
    Math.sin((lat2 - lat1) / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin((lng2 - lng1) / 2) ** 2;
  return 2 * 6378.137 * Math.asin(Math.sqrt(h));
}
