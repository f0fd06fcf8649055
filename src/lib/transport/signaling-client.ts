/**
 * A device's connection to the signaling server: one WebSocket shared by every room the device is
 * in, reconnecting with exponential backoff and rejoining its rooms. Protocol: ./signaling-protocol.ts.
 * A room joined with its RoomAuth is joined with its key, and every deposit and take in it is
 * signed for the socket of the moment; in a room joined without, the mailbox refuses both, so they
 * are not sent.
 *
 * The server closes a socket that sends frames faster than its token bucket allows (4429), and a
 * device that opens many channels at once (a large room, or every room again after the server
 * restarted) sends an offer or answer and a dozen or more ICE candidates for each. So the client
 * keeps to a bucket of its own, under the server's default: a frame past it waits its turn.
 */
import { toBase64Url } from '../crypto';
import { Emitter } from '../util/emitter';
import {
	parseServerFrame,
	SIGNALING_PATH,
	signMailboxOp,
	takeFrames,
	writeClientFrame,
	type ClientFrame,
	type ServerFrame,
	type IceServer,
	type IceTransportPolicy,
	type MailboxItem,
	type SignalData
} from './signaling-protocol';
import type { RoomAuth, TransportStatus } from './types';

/** The part of the WebSocket API used here; the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
	readonly readyState: number;
	onopen: ((event: unknown) => void) | null;
	onclose: ((event: unknown) => void) | null;
	onerror: ((event: unknown) => void) | null;
	onmessage: ((event: { data: unknown }) => void) | null;
	send(data: string): void;
	close(): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export type SignalingEvents = {
	status: TransportStatus;
	joined: { room: string; peers: string[] };
	'peer-joined': { room: string; peer: string };
	'peer-left': { room: string; peer: string };
	signal: { room: string; from: string; data: SignalData };
	mailbox: { room: string; items: MailboxItem[] };
	/** Every item that waited for this device in the room has been handed over. */
	'mailbox-end': { room: string };
	/** The server went away: every peer id it gave out is void. */
	reset: void;
};

const OPEN = 1;
/** How long a deposit waits for the server's answer before it counts as not stored. */
const DEPOSIT_ANSWER_TIMEOUT_MS = 15_000;
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;
/** The client's own frame rate and burst: under the server's default 50 a second, bursts of 100 (signaling/config.ts). */
export const CLIENT_FRAMES_PER_SECOND = 40;
export const CLIENT_FRAME_BURST = 80;

/** Turns http(s)://host into ws(s)://host/signal. */
export function signalingUrlFor(origin: string): string {
	return origin.replace(/^http/, 'ws').replace(/\/$/, '') + SIGNALING_PATH;
}

export class SignalingClient extends Emitter<SignalingEvents> {
	status: TransportStatus = 'offline';
	self?: string;
	/** STUN/TURN servers the signaling server recommends; none means direct (host) candidates only. */
	iceServers: IceServer[] = [];
	/** 'relay' when the server asks devices to connect through TURN only. */
	iceTransportPolicy: IceTransportPolicy = 'all';
	/** Frames from the server that did not parse; they are dropped. */
	rejectedFrames = 0;
	/** Frames this device did not send because a server would not take them. */
	refusedWrites = 0;
	private socket?: WebSocketLike;
	/** The rooms to be in, each with what lets this device use its mailbox. */
	private readonly rooms = new Map<string, RoomAuth | undefined>();
	/** Rooms joined to use their mailbox only (a day this device no longer meets in). */
	private readonly mailboxOnly = new Set<string>();
	private attempt = 0;
	private retryTimer?: ReturnType<typeof setTimeout>;
	private closed = false;
	/** Deposits waiting for the server's answer, by room and id. */
	private readonly pendingDeposits = new Map<string, (stored: boolean) => void>();
	/** Frames the bucket holds back, for the socket of the moment, and when it was last filled. */
	private readonly paced: string[] = [];
	private tokens = CLIENT_FRAME_BURST;
	private filledAt = 0;
	private paceTimer?: ReturnType<typeof setTimeout>;

	constructor(
		private readonly url: string,
		private readonly createSocket: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike
	) {
		super();
	}

	/**
	 * Joins `room`, and stays in it across reconnections; with `auth`, as one that may use its
	 * mailbox; with `mailboxOnly` too, as one that meets no peer there.
	 */
	join(room: string, auth?: RoomAuth, mailboxOnly = false): void {
		this.rooms.set(room, auth);
		if (mailboxOnly && auth) this.mailboxOnly.add(room);
		else this.mailboxOnly.delete(room);
		this.ensureSocket();
		if (this.socket?.readyState === OPEN) this.sendJoin(room, auth);
	}

	leave(room: string): void {
		if (!this.rooms.delete(room)) return;
		this.mailboxOnly.delete(room);
		if (this.socket?.readyState === OPEN) this.send({ type: 'leave', room });
	}

	signal(room: string, to: string, data: SignalData): void {
		if (this.socket?.readyState === OPEN) this.send({ type: 'signal', room, to, data });
	}

	/**
	 * Leaves a sealed frame for the room. Resolves true once the server says it stored it; false when
	 * it refused it, the socket closed first, no answer came in time (the caller keeps its data), or
	 * the room was joined without its key (nothing is sent).
	 */
	deposit(room: string, item: MailboxItem): Promise<boolean> {
		const auth = this.rooms.get(room);
		const self = this.self;
		if (this.socket?.readyState !== OPEN || !auth || !self) return Promise.resolve(false);
		const key = `${room}/${item.id}`;
		this.pendingDeposits.get(key)?.(false);
		return new Promise<boolean>((resolve) => {
			const timer = setTimeout(() => settle(false), DEPOSIT_ANSWER_TIMEOUT_MS);
			const settle = (stored: boolean) => {
				clearTimeout(timer);
				if (this.pendingDeposits.get(key) === settle) this.pendingDeposits.delete(key);
				resolve(stored);
			};
			this.pendingDeposits.set(key, settle);
			if (!this.send(signMailboxOp(auth, self, { type: 'deposit', room, ...item }))) settle(false);
		});
	}

	/** Deletes the items from the room's mailbox, in as many frames as the server's limits need. */
	take(room: string, ids: string[]): void {
		const auth = this.rooms.get(room);
		const self = this.self;
		if (this.socket?.readyState !== OPEN || !auth || !self) return;
		for (const frame of takeFrames(room, ids)) if (frame.type === 'take') this.send(signMailboxOp(auth, self, frame));
	}

	close(): void {
		this.closed = true;
		clearTimeout(this.retryTimer);
		this.forgetPaced();
		this.socket?.close();
		this.setStatus('offline');
	}

	private ensureSocket(): void {
		if (this.socket || this.closed) return;
		this.setStatus('connecting');
		let socket: WebSocketLike;
		try {
			socket = this.createSocket(this.url);
		} catch {
			this.scheduleRetry();
			return;
		}
		this.socket = socket;
		socket.onmessage = (event) => {
			if (typeof event.data !== 'string') {
				this.rejectedFrames++;
				return;
			}
			let frame: ServerFrame;
			try {
				frame = parseServerFrame(event.data);
			} catch {
				this.rejectedFrames++;
				return;
			}
			this.handle(frame);
		};
		socket.onclose = () => {
			if (this.socket !== socket) return;
			this.socket = undefined;
			// What waited was for the socket that closed: joins go again on the next welcome, signals are void.
			this.forgetPaced();
			for (const settle of [...this.pendingDeposits.values()]) settle(false);
			this.self = undefined;
			this.emit('reset', undefined);
			if (this.closed) return;
			this.setStatus('offline');
			this.scheduleRetry();
		};
		socket.onerror = () => {
			// A close event follows; that is where reconnection starts.
		};
	}

	private handle(frame: ServerFrame): void {
		switch (frame.type) {
			case 'welcome':
				this.self = frame.self;
				this.iceServers = frame.iceServers;
				this.iceTransportPolicy = frame.iceTransportPolicy ?? 'all';
				this.attempt = 0;
				// Joins go first, so that what a listener sends on 'online' reaches rooms it is in.
				for (const [room, auth] of this.rooms) this.sendJoin(room, auth);
				this.setStatus('online');
				break;
			case 'joined':
				if (this.rooms.has(frame.room)) this.emit('joined', { room: frame.room, peers: frame.peers });
				break;
			case 'peer-joined':
			case 'peer-left':
				if (this.rooms.has(frame.room)) this.emit(frame.type, { room: frame.room, peer: frame.peer });
				break;
			case 'signal':
				if (this.rooms.has(frame.room)) this.emit('signal', { room: frame.room, from: frame.from, data: frame.data });
				break;
			case 'mailbox':
				if (this.rooms.has(frame.room)) this.emit('mailbox', { room: frame.room, items: frame.items });
				break;
			case 'mailbox-end':
				if (this.rooms.has(frame.room)) this.emit('mailbox-end', { room: frame.room });
				break;
			case 'deposited':
				this.pendingDeposits.get(`${frame.room}/${frame.id}`)?.(true);
				break;
			case 'error':
				// A refused deposit is its depositor's to keep; other refusals need nothing beyond the next join.
				if ((frame.code === 'mailbox-full' || frame.code === 'forbidden') && frame.id) {
					for (const room of this.rooms.keys()) this.pendingDeposits.get(`${room}/${frame.id}`)?.(false);
				}
				break;
		}
	}

	private scheduleRetry(): void {
		if (this.closed || this.rooms.size === 0) return;
		const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt++);
		const delay = ceiling / 2 + Math.random() * (ceiling / 2);
		this.retryTimer = setTimeout(() => this.ensureSocket(), delay);
	}

	private sendJoin(room: string, auth: RoomAuth | undefined): void {
		if (!auth) this.send({ type: 'join', room });
		else if (this.mailboxOnly.has(room)) this.send({ type: 'join', room, key: toBase64Url(auth.publicKey), mailboxOnly: true });
		else this.send({ type: 'join', room, key: toBase64Url(auth.publicKey) });
	}

	/** Sends `frame`; false (nothing sent) when it is larger than a server takes. */
	private send(frame: ClientFrame): boolean {
		let text: string;
		try {
			text = writeClientFrame(frame);
		} catch {
			this.refusedWrites++;
			return false;
		}
		this.paced.push(text);
		this.sendPaced();
		return true;
	}

	/** Sends what the bucket allows now, and comes back for the rest when a token is due. */
	private sendPaced(): void {
		const now = Date.now();
		this.tokens = Math.min(CLIENT_FRAME_BURST, this.tokens + ((now - this.filledAt) / 1000) * CLIENT_FRAMES_PER_SECOND);
		this.filledAt = now;
		while (this.paced.length > 0 && this.tokens >= 1) {
			this.tokens--;
			this.socket?.send(this.paced.shift()!);
		}
		if (this.paced.length === 0 || this.paceTimer !== undefined) return;
		this.paceTimer = setTimeout(() => {
			this.paceTimer = undefined;
			this.sendPaced();
		}, Math.ceil(((1 - this.tokens) / CLIENT_FRAMES_PER_SECOND) * 1000));
	}

	private forgetPaced(): void {
		this.paced.length = 0;
		clearTimeout(this.paceTimer);
		this.paceTimer = undefined;
	}

	private setStatus(status: TransportStatus): void {
		if (this.status === status) return;
		this.status = status;
		this.emit('status', status);
	}
}
