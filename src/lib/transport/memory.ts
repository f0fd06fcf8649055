/**
 * An in-memory network for tests and benchmarks. Optional chaos reorders and duplicates messages
 * so that the layers above prove they converge without the ordering a data channel gives.
 *
 * Like the signaling server, the network tells each member of a room who is there when it joins
 * and who comes and goes after; each transport then opens and closes its channels as its
 * ./link-plan.ts asks, as the WebRTC transport does (a full mesh in small rooms).
 *
 * Its mailbox keeps the signaling server's rule (./signaling-protocol.ts): a transport that joined
 * with the room's key signs each deposit and take for its own peer id, and the network checks the
 * signature against that key; any other deposit or take changes nothing. (A key that does not
 * hash to the room is ignored here; the server closes the socket.)
 */
import { fromBase64Url, toBase64Url } from '../crypto';
import { Emitter } from '../util/emitter';
import { LinkPlan } from './link-plan';
import { MAX_MAILBOX_ITEM_BYTES, roomIdForKey, signMailboxOp, verifyMailboxOp, type MailboxOp } from './signaling-protocol';
import type { MailboxEntry, PeerId, RoomAuth, RoomMailbox, RoomMode, Transport, TransportEvents, TransportStatus } from './types';

export interface Chaos {
	/** Probability that a message is delivered twice. */
	duplicate: number;
	/** Messages are held back by a random delay of up to this many milliseconds. */
	maxDelayMs: number;
	random: () => number;
}

export class MemoryNetwork {
	/** The transports in each room that meet others, by peer id. */
	private readonly rooms = new Map<string, Map<PeerId, MemoryTransport>>();
	private readonly mailboxes = new Map<string, Map<string, Uint8Array>>();
	/** The room key each transport joined with, when it hashes to the transport's room. */
	private readonly roomKeys = new WeakMap<MemoryTransport, Uint8Array>();
	private counter = 0;

	/** Deposits and takes refused for want of the room key's signature, as the server counts them. */
	mailboxRefusals = 0;

	/** Items one room's mailbox holds before it refuses more. */
	mailboxItemsPerRoom = Number.POSITIVE_INFINITY;

	constructor(readonly chaos?: Chaos) {}

	/** A transport into `room`; with the room's `auth`, one that may use the room's mailbox; in mode 'mailbox', only that. */
	transport(room: string, auth?: RoomAuth, mode: RoomMode = 'meet'): MemoryTransport {
		return new MemoryTransport(this, room, `mem-${++this.counter}`, auth, auth ? mode : 'meet');
	}

	/** @internal */ presentKey(transport: MemoryTransport, auth: RoomAuth | undefined): void {
		if (auth && roomIdForKey(auth.publicKey) === transport.room) this.roomKeys.set(transport, auth.publicKey);
		else this.roomKeys.delete(transport);
	}

	/** @internal */ join(transport: MemoryTransport): void {
		let members = this.rooms.get(transport.room);
		if (!members) this.rooms.set(transport.room, (members = new Map()));
		if (members.get(transport.id) === transport) return;
		if (transport.mode === 'meet') {
			const others = [...members.values()];
			members.set(transport.id, transport);
			// Every view first, then the links: no one answers from a view that lacks the newcomer.
			for (const other of others) other.plan.arrived(transport.id);
			transport.plan.joined(transport.id, others.map((other) => other.id));
			for (const member of [...others, transport]) member.followPlan();
		}
		const waiting = [...(this.mailboxes.get(transport.room) ?? [])].map(([id, data]) => ({ id, data: data.slice() }));
		queueMicrotask(() => transport.mailboxArrived(waiting));
	}

	/** @internal */ deposit(from: MemoryTransport, op: Extract<MailboxOp, { type: 'deposit' }>): boolean {
		if (!this.signedByRoomKey(from, op)) return false;
		const box = this.mailboxFor(from.room);
		if (!box.has(op.id) && box.size >= this.mailboxItemsPerRoom) return false;
		box.set(op.id, fromBase64Url(op.data));
		return true;
	}

	/** @internal */ take(from: MemoryTransport, op: Extract<MailboxOp, { type: 'take' }>): void {
		if (!this.signedByRoomKey(from, op)) return;
		for (const id of op.ids) this.mailboxFor(from.room).delete(id);
	}

	private signedByRoomKey(from: MemoryTransport, op: MailboxOp): boolean {
		const key = this.roomKeys.get(from);
		if (op.room === from.room && key && verifyMailboxOp(key, from.id, op)) return true;
		this.mailboxRefusals++;
		return false;
	}

	/** @internal */ mailboxFor(room: string): Map<string, Uint8Array> {
		let box = this.mailboxes.get(room);
		if (!box) this.mailboxes.set(room, (box = new Map()));
		return box;
	}

	/** @internal */ leave(transport: MemoryTransport): void {
		const members = this.rooms.get(transport.room);
		if (members?.get(transport.id) !== transport) return;
		members.delete(transport.id);
		for (const peer of [...transport.peers]) this.unlink(transport, peer);
		transport.plan.clear();
		for (const other of members.values()) other.plan.left(transport.id);
		for (const other of members.values()) other.followPlan();
	}

	/** @internal */ link(from: MemoryTransport, to: PeerId): void {
		const target = this.rooms.get(from.room)?.get(to);
		if (!target || from.peers.has(to) || !target.plan.accepts(from.id, target.peers.size)) return;
		target.peerArrived(from.id, false);
		from.peerArrived(to, true);
	}

	/** @internal */ unlink(from: MemoryTransport, to: PeerId): void {
		this.rooms.get(from.room)?.get(to)?.peerLeft(from.id);
		from.peerLeft(to);
	}

	/** @internal */ deliver(from: MemoryTransport, to: PeerId, data: Uint8Array): void {
		const target = this.rooms.get(from.room)?.get(to);
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
	/** @internal */ readonly plan = new LinkPlan();
	readonly mailbox: RoomMailbox = {
		deposit: async ({ id, data }) => {
			// The server refuses an item over its limit, or past the room's; so does this stand-in for it.
			if (this.status !== 'online' || data.length > MAX_MAILBOX_ITEM_BYTES) return false;
			return this.network.deposit(this, this.signed({ type: 'deposit', room: this.room, id, data: toBase64Url(data) }));
		},
		take: (ids) => this.network.take(this, this.signed({ type: 'take', room: this.room, ids }))
	};

	constructor(
		private readonly network: MemoryNetwork,
		readonly room: string,
		readonly id: PeerId,
		private readonly auth?: RoomAuth,
		readonly mode: RoomMode = 'meet'
	) {
		super();
	}

	connect(): void {
		// The key goes with the join, ahead of what listeners deposit once they hear 'online'.
		this.network.presentKey(this, this.auth);
		this.setStatus('online');
		this.network.join(this);
	}

	/** `op` signed for this transport's peer id, as SignalingClient signs it for its socket; unsigned without the key. */
	private signed<T extends MailboxOp>(op: T): T {
		return this.auth ? signMailboxOp(this.auth, this.id, op) : op;
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

	/** @internal Opens the channels the plan wants and this end opens; closes those it no longer wants. */
	followPlan(): void {
		const wanted = this.plan.wanted();
		for (const peer of [...this.peers]) if (!wanted.has(peer)) this.network.unlink(this, peer);
		for (const peer of wanted) if (!this.peers.has(peer) && this.plan.opens(peer)) this.network.link(this, peer);
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
		if (entries.length > 0) this.emit('mailbox', entries);
		this.emit('mailbox-end', undefined);
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
