/**
 * An in-memory network for tests and benchmarks. Optional chaos reorders and duplicates messages
 * so that the layers above prove they converge without the ordering a data channel gives.
 */
import { Emitter } from '../util/emitter';
import { MAX_MAILBOX_ITEM_BYTES } from './signaling-protocol';
import type { MailboxEntry, PeerId, RoomMailbox, Transport, TransportEvents, TransportStatus } from './types';

export interface Chaos {
	/** Probability that a message is delivered twice. */
	duplicate: number;
	/** Messages are held back by a random delay of up to this many milliseconds. */
	maxDelayMs: number;
	random: () => number;
}

export class MemoryNetwork {
	private readonly rooms = new Map<string, Set<MemoryTransport>>();
	private readonly mailboxes = new Map<string, Map<string, Uint8Array>>();
	private counter = 0;

	/** Items one room's mailbox holds before it refuses more. */
	mailboxItemsPerRoom = Number.POSITIVE_INFINITY;

	constructor(readonly chaos?: Chaos) {}

	transport(room: string): MemoryTransport {
		return new MemoryTransport(this, room, `mem-${++this.counter}`);
	}

	/** @internal */ join(transport: MemoryTransport): void {
		let members = this.rooms.get(transport.room);
		if (!members) this.rooms.set(transport.room, (members = new Set()));
		if (members.has(transport)) return;
		const others = [...members];
		members.add(transport);
		// The newcomer opens the channel to each member, as on the real signaling server.
		for (const other of others) {
			other.peerArrived(transport.id, false);
			transport.peerArrived(other.id, true);
		}
		const waiting = [...(this.mailboxes.get(transport.room) ?? [])].map(([id, data]) => ({ id, data: data.slice() }));
		if (waiting.length > 0) queueMicrotask(() => transport.mailboxArrived(waiting));
	}

	/** @internal */ mailboxFor(room: string): Map<string, Uint8Array> {
		let box = this.mailboxes.get(room);
		if (!box) this.mailboxes.set(room, (box = new Map()));
		return box;
	}

	/** @internal */ leave(transport: MemoryTransport): void {
		const members = this.rooms.get(transport.room);
		if (!members?.delete(transport)) return;
		for (const other of members) {
			other.peerLeft(transport.id);
			transport.peerLeft(other.id);
		}
	}

	/** @internal */ deliver(from: MemoryTransport, to: PeerId, data: Uint8Array): void {
		const target = [...(this.rooms.get(from.room) ?? [])].find((member) => member.id === to);
		if (!target) return;
		const copy = data.slice();
		const hand = () => target.receive(from.id, copy);
		if (!this.chaos) {
			queueMicrotask(hand);
			return;
		}
		const { duplicate, maxDelayMs, random } = this.chaos;
		setTimeout(hand, random() * maxDelayMs);
		if (random() < duplicate) setTimeout(hand, random() * maxDelayMs);
	}
}

export class MemoryTransport extends Emitter<TransportEvents> implements Transport {
	status: TransportStatus = 'offline';
	readonly peers = new Set<PeerId>();
	private readonly initiated = new Set<PeerId>();
	readonly mailbox: RoomMailbox = {
		deposit: async ({ id, data }) => {
			// The server refuses an item over its limit, or past the room's; so does this stand-in for it.
			if (this.status !== 'online' || data.length > MAX_MAILBOX_ITEM_BYTES) return false;
			const box = this.network.mailboxFor(this.room);
			if (!box.has(id) && box.size >= this.network.mailboxItemsPerRoom) return false;
			box.set(id, data.slice());
			return true;
		},
		take: (ids) => {
			for (const id of ids) this.network.mailboxFor(this.room).delete(id);
		}
	};

	constructor(
		private readonly network: MemoryNetwork,
		readonly room: string,
		readonly id: PeerId
	) {
		super();
	}

	connect(): void {
		this.setStatus('online');
		this.network.join(this);
	}

	send(peer: PeerId, data: Uint8Array): void {
		if (this.peers.has(peer)) this.network.deliver(this, peer, data);
	}

	close(): void {
		this.network.leave(this);
		this.setStatus('offline');
	}

	isInitiator(peer: PeerId): boolean {
		return this.initiated.has(peer);
	}

	/** @internal */ peerArrived(peer: PeerId, initiator: boolean): void {
		this.peers.add(peer);
		if (initiator) this.initiated.add(peer);
		this.emit('peer-connected', peer);
	}

	/** @internal */ peerLeft(peer: PeerId): void {
		this.initiated.delete(peer);
		if (this.peers.delete(peer)) this.emit('peer-disconnected', peer);
	}

	/** @internal */ mailboxArrived(entries: MailboxEntry[]): void {
		this.emit('mailbox', entries);
	}

	/** @internal */ receive(peer: PeerId, data: Uint8Array): void {
		if (this.peers.has(peer)) this.emit('message', { peer, data });
	}

	private setStatus(status: TransportStatus): void {
		if (this.status === status) return;
		this.status = status;
		this.emit('status', status);
	}
}
