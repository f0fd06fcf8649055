/**
 * Which peers of a room a device keeps a channel to, and which end of each channel opens it. Both
 * transports (./webrtc.ts, ./memory.ts) follow this one plan; each end computes it from the room's
 * membership as the rendezvous point reports it, so two ends with the same view agree on every
 * channel without asking each other.
 *
 * A room of at most FULL_MESH_PEERS other peers is a full mesh: every device meets every other. So
 * are account rooms (at most five devices) and direct chats (two accounts of five). A larger room (a
 * group: up to 64 accounts of several devices each) is a skip graph over the peer ids:
 *
 *   level 0        every peer, in the order of its id, is linked to the next and the one before (a ring);
 *   level i        the peers whose label starts with the same i bits as this peer's form a ring of
 *                  their own, in id order, and each is linked to its next and its one before there;
 *   levels         0 to ⌈log₂ n⌉ − 1, n peers in the room;
 *   label          SHA-256 of the peer id (independent of the id order, so higher levels skip far).
 *
 * So a device keeps at most 2⌈log₂ n⌉ channels (12 in a room of 64, 18 in one of 320), the graph is
 * connected (level 0 alone is a ring, and stays connected when any one peer goes), and a change
 * crosses a room of 64 in at most about five hops. A peer that joins or leaves changes only the
 * links beside it on each level, about 3 log₂ n channels in all, not the whole room's. Relaying is
 * the sync engine's: it hands what a peer changed on to its other peers.
 *
 * The end that came into the room later opens the channel, as in a full mesh, where the newcomer
 * offers to everyone it finds: both ends know which of them came first. Each end works out its
 * links again whenever a peer joins or leaves, opens those it should and misses, and closes those
 * no longer wanted. Views differ for a moment while peers come and go, so an end answers an offer
 * from a peer it does not want as long as it has fewer than twice the bound; once every view holds
 * the same peers, each end's last look closes what neither wants, and what is left is the plan.
 */
import { hash } from '../crypto';
import type { PeerId } from './types';

/** Rooms with at most this many other peers are a full mesh: a direct chat of two accounts of five devices each. */
export const FULL_MESH_PEERS = 9;

/** The most channels a device wants in a room of `size` devices (itself included). */
export function linkBound(size: number): number {
	if (size - 1 <= FULL_MESH_PEERS) return Math.max(0, size - 1);
	return 2 * Math.ceil(Math.log2(size));
}

const encoder = new TextEncoder();

/** The first 32 bits of SHA-256 of the peer id: the bits that place it on the higher levels. */
function labelOf(peer: PeerId): number {
	const digest = hash(encoder.encode(peer));
	return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

/** Whether two labels start with the same `bits` bits. */
function samePrefix(a: number, b: number, bits: number): boolean {
	return bits === 0 || a >>> (32 - bits) === b >>> (32 - bits);
}

/**
 * The peers `self` keeps a channel to, among the room's `others`, with `label` giving each peer's
 * label: everyone in a small room, its neighbors on each level of the skip graph in a large one.
 */
export function chooseLinks(self: PeerId, others: Iterable<PeerId>, label: (peer: PeerId) => number = labelOf): Set<PeerId> {
	const everyone = new Set([self, ...others]);
	// In the order the peers were given: a full mesh opens its channels as it always did.
	if (everyone.size - 1 <= FULL_MESH_PEERS) return new Set([...everyone].filter((peer) => peer !== self));
	const all = [...everyone].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
	const wanted = new Set<PeerId>();
	const own = label(self);
	const levels = Math.ceil(Math.log2(all.length));
	for (let level = 0; level < levels; level++) {
		const ring = all.filter((peer) => samePrefix(label(peer), own, level));
		// The rings above are parts of this one: nothing more to link.
		if (ring.length < 2) break;
		const at = ring.indexOf(self);
		wanted.add(ring[(at + 1) % ring.length]!);
		wanted.add(ring[(at - 1 + ring.length) % ring.length]!);
	}
	return wanted;
}

/** One device's view of a room's membership, and the links it asks for. */
export class LinkPlan {
	private self?: PeerId;
	/** Every other peer in the room, and whether it came after this device. */
	private readonly arrivals = new Map<PeerId, boolean>();
	private readonly labels = new Map<PeerId, number>();
	private wantedNow?: Set<PeerId>;

	/** The room as this device found it on joining: `peers` were there before it. */
	joined(self: PeerId, peers: Iterable<PeerId>): void {
		this.clear();
		this.self = self;
		for (const peer of peers) if (peer !== self) this.arrivals.set(peer, false);
	}

	/** A peer joined after this device. */
	arrived(peer: PeerId): void {
		if (peer === this.self || this.arrivals.has(peer)) return;
		this.arrivals.set(peer, true);
		this.wantedNow = undefined;
	}

	left(peer: PeerId): void {
		if (!this.arrivals.delete(peer)) return;
		this.labels.delete(peer);
		this.wantedNow = undefined;
	}

	/** Forgets the room (left, or the rendezvous point's ids are void). */
	clear(): void {
		this.self = undefined;
		this.arrivals.clear();
		this.labels.clear();
		this.wantedNow = undefined;
	}

	/** Whether the rendezvous point says `peer` is in the room. */
	has(peer: PeerId): boolean {
		return this.arrivals.has(peer);
	}

	/** The other peers in the room. */
	get members(): PeerId[] {
		return [...this.arrivals.keys()];
	}

	/** The peers this device keeps a channel to now. */
	wanted(): ReadonlySet<PeerId> {
		if (this.self === undefined) return new Set();
		this.wantedNow ??= chooseLinks(this.self, this.arrivals.keys(), (peer) => this.label(peer));
		return this.wantedNow;
	}

	/** Whether this end opens the channel to `peer`: it does when it came into the room later. */
	opens(peer: PeerId): boolean {
		return this.arrivals.get(peer) === false;
	}

	/**
	 * Whether to answer an offer from `peer` while this device has `channels` channels (open or
	 * opening). An offer the plan does not want here may come from a view a moment ahead or behind
	 * this one's: it is answered, up to twice the bound, and the next change closes what neither
	 * end wants. An offer left unanswered waits for the offerer's timeout before it is tried again.
	 */
	accepts(peer: PeerId, channels: number): boolean {
		return this.wanted().has(peer) || channels < 2 * linkBound(this.arrivals.size + 1);
	}

	private label(peer: PeerId): number {
		let label = this.labels.get(peer);
		if (label === undefined) this.labels.set(peer, (label = labelOf(peer)));
		return label;
	}
}
