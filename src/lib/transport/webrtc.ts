/**
 * The Transport adapter for real devices: WebRTC data channels (simple-peer), introduced through
 * the signaling server. Messages are cut into 16 KiB chunks (./framing.ts) and written through
 * simple-peer's stream interface, which waits while the channel's buffer is full.
 *
 * A device that vanishes (tab closed, phone asleep, network gone) often closes nothing, and
 * WebRTC's own consent check takes half a minute to notice; so each channel is pinged, and a peer
 * silent for LIVENESS_TIMEOUT_MS is dropped. When the signaling server reports that a peer left,
 * it is probed at once.
 *
 * A connection that fails or does not open within CONNECT_TIMEOUT_MS (a busy page, a lost
 * candidate, a network change) is tried again, with exponential backoff, for as long as the peer is
 * in the room: by the side that started it, so two sides never offer to each other at once.
 *
 * Which peers it opens channels to, and which offers it answers, is ./link-plan.ts's: every peer in
 * a small room, a bounded few in a large one, worked out again whenever a peer joins or leaves.
 *
 * With the room's RoomAuth, the transport joins with the room key and may use the room's mailbox;
 * without it (the link handshake's rooms), the mailbox refuses its deposits and takes. In mode
 * 'mailbox' it uses the room's mailbox only and opens no channel to anyone.
 *
 * Without a PeerFactory (a browser without WebRTC, ../platform/webrtc.ts), the transport joins the
 * room for its mailbox alone: it opens no channel and leaves the other side's offers unanswered.
 */
import type SimplePeer from 'simple-peer';
import { Emitter } from '../util/emitter';
import { FramingError, isPing, isPong, PING, PONG, Reassembler, splitMessage } from './framing';
import type { SignalingClient } from './signaling-client';
import type { SignalData } from './signaling-protocol';
import { LinkPlan } from './link-plan';
import { fromBase64Url, toBase64Url } from '../crypto';
import type { PeerId, RoomAuth, RoomMailbox, RoomMode, Transport, TransportEvents, TransportStatus } from './types';

export type PeerFactory = (options: SimplePeer.Options) => SimplePeer.Instance;

export const PING_INTERVAL_MS = 3_000;
export const LIVENESS_TIMEOUT_MS = 10_000;
const PROBE_TIMEOUT_MS = 2_500;
export const CONNECT_TIMEOUT_MS = 20_000;
const MIN_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

interface Link {
	peer: SimplePeer.Instance;
	initiator: boolean;
	connected: boolean;
	reassembler: Reassembler;
	queue: Uint8Array[];
	writing: boolean;
	lastHeard: number;
	openedAt: number;
}

export class WebRtcTransport extends Emitter<TransportEvents> implements Transport {
	readonly peers = new Set<PeerId>();
	private readonly links = new Map<PeerId, Link>();
	private readonly unsubscribe: (() => void)[] = [];
	private afterReset = false;
	private heartbeat?: ReturnType<typeof setInterval>;
	/** Who the server says is in the room, and which of them this device keeps a channel to. */
	private readonly plan = new LinkPlan();
	/** Failed attempts in a row, and the pending retry, per peer this side connects to. */
	private readonly retries = new Map<PeerId, { attempts: number; timer?: ReturnType<typeof setTimeout> }>();
	private closed = false;
	/** Chunks that did not form a valid message; dropped. */
	rejectedChunks = 0;

	constructor(
		private readonly room: string,
		private readonly signaling: SignalingClient,
		private readonly createPeer: PeerFactory | undefined,
		private readonly connectTimeoutMs = CONNECT_TIMEOUT_MS,
		private readonly auth?: RoomAuth,
		private readonly mode: RoomMode = 'meet'
	) {
		super();
	}

	get status(): TransportStatus {
		return this.signaling.status;
	}

	readonly mailbox: RoomMailbox = {
		deposit: ({ id, data }) => this.signaling.deposit(this.room, { id, data: toBase64Url(data) }),
		take: (ids) => this.signaling.take(this.room, ids)
	};

	connect(): void {
		if (this.unsubscribe.length > 0) return;
		this.unsubscribe.push(
			this.signaling.on('status', (status) => this.emit('status', status)),
			this.signaling.on('mailbox', ({ room, items }) => {
				if (room === this.room) this.emit('mailbox', items.map(({ id, data }) => ({ id, data: fromBase64Url(data) })));
			}),
			this.signaling.on('mailbox-end', ({ room }) => {
				if (room === this.room) this.emit('mailbox-end', undefined);
			}),
			this.signaling.on('reset', () => {
				this.afterReset = true;
			}),
			this.signaling.on('joined', ({ room, peers }) => {
				if (room !== this.room) return;
				// Peer ids from before the server went away are void; rebuild every channel under new ones.
				if (this.afterReset) {
					this.plan.clear();
					for (const peer of [...this.links.keys()]) this.drop(peer);
					this.cancelRetries();
				}
				this.afterReset = false;
				if (this.mode === 'mailbox' || !this.signaling.self) return;
				this.plan.joined(this.signaling.self, peers);
				this.followPlan();
			}),
			this.signaling.on('peer-joined', ({ room, peer }) => {
				if (room !== this.room || this.mode === 'mailbox') return;
				this.plan.arrived(peer);
				this.followPlan();
			}),
			this.signaling.on('peer-left', ({ room, peer }) => {
				if (room !== this.room) return;
				this.plan.left(peer);
				this.cancelRetry(peer);
				this.probeOrDrop(peer);
				// Its neighbors in a large room now link to each other.
				this.followPlan();
			}),
			this.signaling.on('signal', ({ room, from, data }) => {
				if (room !== this.room || this.mode === 'mailbox') return;
				// A new offer for a channel that never opened: the other side started again.
				const stale = this.links.get(from);
				if (stale && !stale.initiator && !stale.connected && data.type === 'offer') this.drop(from);
				// A channel starts with an offer, which a device answers only while the plan lets it.
				if (!this.links.has(from) && (data.type !== 'offer' || !this.plan.accepts(from, this.links.size))) return;
				const link = this.links.get(from) ?? this.open(from, false);
				if (!link) return;
				try {
					link.peer.signal(data as unknown as SimplePeer.SignalData);
				} catch {
					this.drop(from);
				}
			})
		);
		this.signaling.join(this.room, this.auth, this.mode === 'mailbox');
		this.heartbeat = setInterval(() => this.checkLiveness(), PING_INTERVAL_MS);
	}

	/**
	 * Opens the channels the plan wants and this end opens, and closes those to peers in the room it
	 * no longer wants. A channel to a peer the server no longer lists is left to `probeOrDrop`.
	 */
	private followPlan(): void {
		if (this.closed || this.mode === 'mailbox') return;
		const wanted = this.plan.wanted();
		for (const peer of [...this.links.keys()]) if (this.plan.has(peer) && !wanted.has(peer)) this.drop(peer);
		for (const peer of wanted) {
			if (!this.links.has(peer) && this.plan.opens(peer) && !this.retries.get(peer)?.timer) this.open(peer, true);
		}
	}

	/** A peer the server says left: a live data channel may outlive the socket that introduced it, so it is asked first. */
	private probeOrDrop(peer: PeerId): void {
		const link = this.links.get(peer);
		if (!link?.connected) return this.drop(peer);
		const asked = Date.now();
		this.write(link, PING);
		setTimeout(() => {
			if (this.links.get(peer) === link && link.lastHeard < asked) this.drop(peer);
		}, PROBE_TIMEOUT_MS);
	}

	private checkLiveness(): void {
		const now = Date.now();
		for (const [peer, link] of this.links) {
			if (!link.connected) {
				// Never opened: a lost candidate or a page too busy to answer in time.
				if (now - link.openedAt > this.connectTimeoutMs) this.drop(peer);
				continue;
			}
			if (now - link.lastHeard > LIVENESS_TIMEOUT_MS) this.drop(peer);
			else this.write(link, PING);
		}
	}

	isInitiator(peer: PeerId): boolean {
		return this.links.get(peer)?.initiator ?? false;
	}

	send(peer: PeerId, data: Uint8Array): void {
		const link = this.links.get(peer);
		if (!link?.connected) return;
		for (const chunk of splitMessage(data)) this.write(link, chunk);
	}

	private write(link: Link, chunk: Uint8Array): void {
		link.queue.push(chunk);
		void this.flush(link);
	}

	close(): void {
		this.closed = true;
		this.cancelRetries();
		clearInterval(this.heartbeat);
		for (const stop of this.unsubscribe.splice(0)) stop();
		this.signaling.leave(this.room);
		for (const peer of [...this.links.keys()]) this.drop(peer);
	}

	/** Undefined, and nothing started, where this browser cannot open a channel. */
	private open(peerId: PeerId, initiator: boolean): Link | undefined {
		if (!this.createPeer) return undefined;
		const peer = this.createPeer({
			initiator,
			trickle: true,
			config: { iceServers: this.signaling.iceServers, iceTransportPolicy: this.signaling.iceTransportPolicy }
		});
		const now = Date.now();
		const link: Link = { peer, initiator, connected: false, reassembler: new Reassembler(), queue: [], writing: false, lastHeard: now, openedAt: now };
		this.links.set(peerId, link);
		peer.on('signal', (data: unknown) => this.signaling.signal(this.room, peerId, data as SignalData));
		// simple-peer can hand over data before it reports 'connect' (it waits for stats first).
		const markConnected = () => {
			if (this.links.get(peerId) !== link || link.connected) return;
			link.connected = true;
			link.lastHeard = Date.now();
			this.retries.delete(peerId);
			this.peers.add(peerId);
			this.emit('peer-connected', peerId);
		};
		peer.on('connect', markConnected);
		peer.on('data', (data: Uint8Array) => {
			markConnected();
			link.lastHeard = Date.now();
			const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
			if (isPing(chunk)) return this.write(link, PONG);
			if (isPong(chunk)) return;
			let message: Uint8Array | undefined;
			try {
				message = link.reassembler.push(chunk);
			} catch (error) {
				if (!(error instanceof FramingError)) throw error;
				this.rejectedChunks++;
				return;
			}
			if (message) this.emit('message', { peer: peerId, data: message });
		});
		peer.on('close', () => {
			if (this.links.get(peerId) === link) this.drop(peerId);
		});
		peer.on('error', () => {
			if (this.links.get(peerId) === link) this.drop(peerId);
		});
		return link;
	}

	/** Writes queued chunks, pausing whenever simple-peer reports its buffer full. */
	private async flush(link: Link): Promise<void> {
		if (link.writing) return;
		link.writing = true;
		try {
			while (link.queue.length > 0 && !link.peer.destroyed) {
				const chunk = link.queue.shift()!;
				if (!link.peer.write(chunk)) {
					await new Promise<void>((resolve) => {
						const done = () => {
							link.peer.off('drain', done);
							link.peer.off('close', done);
							resolve();
						};
						link.peer.on('drain', done);
						link.peer.on('close', done);
					});
				}
			}
		} finally {
			link.writing = false;
		}
	}

	private drop(peerId: PeerId): void {
		const link = this.links.get(peerId);
		if (!link) return;
		this.links.delete(peerId);
		link.queue = [];
		link.peer.destroy();
		if (this.peers.delete(peerId)) this.emit('peer-disconnected', peerId);
		if (link.initiator) this.retryLater(peerId);
	}

	/** Opens the connection to a peer still in the room (and wanted) again, later each time it fails. */
	private retryLater(peerId: PeerId): void {
		if (this.closed || !this.wants(peerId)) return;
		const retry = this.retries.get(peerId) ?? { attempts: 0 };
		clearTimeout(retry.timer);
		const ceiling = Math.min(MAX_RETRY_MS, MIN_RETRY_MS * 2 ** retry.attempts++);
		retry.timer = setTimeout(() => {
			retry.timer = undefined;
			if (!this.closed && this.wants(peerId) && !this.links.has(peerId)) this.open(peerId, true);
		}, ceiling / 2 + Math.random() * (ceiling / 2));
		this.retries.set(peerId, retry);
	}

	private wants(peerId: PeerId): boolean {
		return this.plan.has(peerId) && this.plan.wanted().has(peerId);
	}

	private cancelRetry(peerId: PeerId): void {
		clearTimeout(this.retries.get(peerId)?.timer);
		this.retries.delete(peerId);
	}

	private cancelRetries(): void {
		for (const peer of [...this.retries.keys()]) this.cancelRetry(peer);
	}
}
