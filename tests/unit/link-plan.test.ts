import { describe, expect, it } from 'vitest';
import { toHex, randomBytes } from '../../src/lib/crypto';
import { chooseLinks, FULL_MESH_PEERS, LinkPlan, linkBound } from '../../src/lib/transport/link-plan';

const peerId = () => toHex(randomBytes(8));

/** Every peer's links in a room, as each computes them from the same membership. */
function linksOf(room: string[]): Map<string, Set<string>> {
	return new Map(room.map((self) => [self, chooseLinks(self, room.filter((peer) => peer !== self))]));
}

/** The longest of the shortest paths between two peers, or Infinity when the graph is split. */
function diameter(links: Map<string, Set<string>>): number {
	let longest = 0;
	for (const start of links.keys()) {
		const distance = new Map([[start, 0]]);
		for (const [peer, hops] of distance) for (const next of links.get(peer)!) if (!distance.has(next)) distance.set(next, hops + 1);
		if (distance.size < links.size) return Infinity;
		longest = Math.max(longest, ...distance.values());
	}
	return longest;
}

describe('link plan', () => {
	it('is a full mesh up to FULL_MESH_PEERS others, in the order the peers were given', () => {
		const room = Array.from({ length: FULL_MESH_PEERS + 1 }, peerId);
		const [self, ...others] = room as [string, ...string[]];
		expect([...chooseLinks(self, others)]).toEqual(others);
		expect(linkBound(room.length)).toBe(FULL_MESH_PEERS);
	});

	it('in larger rooms, links each pair from both ends, within the bound, connected, with few hops', () => {
		for (const size of [FULL_MESH_PEERS + 2, 20, 64, 320]) {
			const room = Array.from({ length: size }, peerId);
			const links = linksOf(room);
			for (const [self, wanted] of links) {
				expect(wanted.size).toBeLessThanOrEqual(linkBound(size));
				expect(wanted.has(self)).toBe(false);
				for (const peer of wanted) expect(links.get(peer)!.has(self), `${peer} links back to ${self}`).toBe(true);
			}
			expect(diameter(links), `hops across a room of ${size}`).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
		}
		expect(linkBound(64)).toBe(12);
	});

	it('stays connected when any one peer leaves, and a join changes few links', () => {
		const room = Array.from({ length: 64 }, peerId);
		const before = linksOf(room);
		for (const gone of room.slice(0, 8)) expect(diameter(linksOf(room.filter((peer) => peer !== gone)))).toBeLessThan(Infinity);
		const after = linksOf([...room, peerId()]);
		let changed = 0;
		for (const [self, wanted] of before) {
			const now = after.get(self)!;
			for (const peer of wanted) if (!now.has(peer)) changed++;
			for (const peer of now) if (!wanted.has(peer)) changed++;
		}
		// Each link counted from both ends; a full re-plan would change hundreds.
		expect(changed / 2).toBeLessThanOrEqual(3 * Math.ceil(Math.log2(65)));
	});

	it('opens from the end that came later, and answers unwanted offers only below twice the bound', () => {
		const [first, second, third] = [peerId(), peerId(), peerId()];
		const plan = new LinkPlan();
		plan.joined(second, [first]);
		plan.arrived(third);
		expect(plan.opens(first)).toBe(true);
		expect(plan.opens(third)).toBe(false);
		expect([...plan.wanted()].sort()).toEqual([first, third].sort());
		plan.left(first);
		expect(plan.has(first)).toBe(false);
		expect([...plan.wanted()]).toEqual([third]);

		const large = new LinkPlan();
		const room = Array.from({ length: 40 }, peerId);
		large.joined(room[0]!, room.slice(1));
		const unwanted = room.slice(1).find((peer) => !large.wanted().has(peer))!;
		expect(large.accepts(unwanted, 2 * linkBound(40) - 1)).toBe(true);
		expect(large.accepts(unwanted, 2 * linkBound(40))).toBe(false);
		expect(large.accepts([...large.wanted()][0]!, 100)).toBe(true);
	});
});
