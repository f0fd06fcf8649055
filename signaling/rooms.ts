/**
 * The signaling protocol's room logic (../src/lib/transport/signaling-protocol.ts) over a
 * Directory of members. Frames of one connection are handled strictly in order, even though the
 * directory may answer asynchronously (Redis).
 *
 * The room key a connection joined with is kept here, with its membership, and nowhere else: a
 * deposit or take is checked against it on the process that holds the socket, so the Directory
 * and the mailbox store (memory or Redis) know nothing of keys.
 */
import { fromBase64Url } from '../src/lib/crypto';
import {
	CLOSE_CODES,
	mailboxPages,
	parseClientFrame,
	roomIdForKey,
	SignalingFrameError,
	verifyMailboxOp,
	type ClientFrame,
	type MailboxOp,
	type ServerFrame
} from '../src/lib/transport/signaling-protocol';
import type { Directory } from './directory';
import type { DepositOutcome, MailboxStore, MailboxUsage } from './mailbox';

export interface Connection {
	readonly id: string;
	/** The rooms this connection is in, each with the room key it joined with (none: signaling only). */
	readonly rooms: Map<string, Uint8Array | undefined>;
	/** Of those, the rooms joined "mailboxOnly": no one is introduced to this connection there, nor it to anyone. */
	readonly mailboxOnly: Set<string>;
	send(frame: ServerFrame): void;
	/** Work for this connection, in arrival order. */
	pending: Promise<void>;
}

/** What to do with a connection after one of its frames: keep it, or close it with a code. */
export type Verdict = { close: number; reason: string } | undefined;

export type RejectReason =
	| 'malformed'
	| 'too-large'
	| 'too-many-rooms'
	| 'too-fast'
	| 'not-in-room'
	| 'forbidden'
	| 'too-many-connections'
	| 'idle'
	| 'mailbox-room-bytes'
	| 'mailbox-room-items'
	| 'mailbox-total';

/** A refused deposit: how it is counted in /metrics, and what its `mailbox-full` error frame says. */
const MAILBOX_REFUSALS: Record<Exclude<DepositOutcome, 'stored'>, { reason: RejectReason; message: string }> = {
	'room-bytes': { reason: 'mailbox-room-bytes', message: 'this room’s mailbox is full' },
	'room-items': { reason: 'mailbox-room-items', message: 'this room’s mailbox holds as many items as it may' },
	'total-bytes': { reason: 'mailbox-total', message: 'the server’s mailboxes are full' }
};

export class Rooms {
	framesForwarded = 0;
	/** Last known size of the mailbox, for metrics that must be read without waiting. */
	mailboxUsage: MailboxUsage = { bytes: 0, items: 0 };
	readonly rejected = new Map<RejectReason, number>();

	constructor(
		private readonly directory: Directory,
		private readonly mailbox: MailboxStore,
		private readonly maxRoomsPerConnection: number,
		private readonly onError: (error: unknown) => void = () => {}
	) {}

	get roomCount(): number {
		return this.directory.localRoomCount;
	}

	countRejected(reason: RejectReason): void {
		this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
	}

	connect(connection: Connection): void {
		this.directory.attach(connection);
	}

	/** Checks one text frame at once; what it asks for happens after the connection's earlier frames. */
	receive(from: Connection, text: string): Verdict {
		let frame: ClientFrame;
		try {
			frame = parseClientFrame(text);
		} catch (error) {
			if (!(error instanceof SignalingFrameError)) throw error;
			this.countRejected(error.code === 'too-large' ? 'too-large' : 'malformed');
			return { close: error.code === 'too-large' ? CLOSE_CODES.tooLarge : CLOSE_CODES.malformed, reason: error.message };
		}
		if (frame.type === 'join' && !from.rooms.has(frame.room) && from.rooms.size >= this.maxRoomsPerConnection) {
			this.countRejected('too-many-rooms');
			return { close: CLOSE_CODES.tooManyRooms, reason: `at most ${this.maxRoomsPerConnection} rooms per connection` };
		}
		if (frame.type === 'join') {
			const key = frame.key === undefined ? undefined : fromBase64Url(frame.key);
			if (key && roomIdForKey(key) !== frame.room) {
				this.countRejected('forbidden');
				return { close: CLOSE_CODES.malformed, reason: 'the key does not match the room' };
			}
			// A second join of a room changes how the connection is in it: the directory hears of both kinds.
			const wasMet = from.rooms.has(frame.room) && !from.mailboxOnly.has(frame.room);
			from.rooms.set(frame.room, key);
			if (frame.mailboxOnly && !wasMet) from.mailboxOnly.add(frame.room);
			else from.mailboxOnly.delete(frame.room);
		}
		const quiet = from.mailboxOnly.has(frame.room);
		if (frame.type === 'leave') {
			if (!from.rooms.delete(frame.room)) return undefined;
			from.mailboxOnly.delete(frame.room);
		}
		// Membership and key as this frame arrives, not when its turn comes: a leave right behind a
		// deposit must not undo the deposit.
		const member = from.rooms.has(frame.room);
		const key = from.rooms.get(frame.room);
		this.enqueue(from, () => this.apply(from, frame, member, key, quiet));
		return undefined;
	}

	disconnect(connection: Connection): void {
		const rooms = [...connection.rooms.keys()].filter((room) => !connection.mailboxOnly.has(room));
		connection.rooms.clear();
		connection.mailboxOnly.clear();
		this.enqueue(connection, async () => {
			for (const room of rooms) await this.leave(connection, room);
			this.directory.detach(connection.id);
		});
	}

	private enqueue(connection: Connection, work: () => Promise<void>): void {
		connection.pending = connection.pending.then(work).catch(this.onError);
	}

	/**
	 * Does what `frame` asks; `member` tells whether `from` was in the frame's room when the frame
	 * arrived, `key` which room key it had joined with, and `quiet` whether it is there for the mailbox only.
	 */
	private async apply(from: Connection, frame: ClientFrame, member: boolean, key: Uint8Array | undefined, quiet: boolean): Promise<void> {
		if (frame.type === 'join' && quiet) {
			from.send({ type: 'joined', room: frame.room, peers: [] });
			await this.handOutMailbox(from, frame.room);
		} else if (frame.type === 'join') {
			const before = await this.directory.join(frame.room, from.id);
			from.send({ type: 'joined', room: frame.room, peers: before });
			await Promise.all(before.map((peer) => this.directory.deliver(frame.room, peer, { type: 'peer-joined', room: frame.room, peer: from.id })));
			await this.handOutMailbox(from, frame.room);
		} else if (frame.type === 'leave') {
			if (!quiet) await this.leave(from, frame.room);
		} else if (frame.type === 'deposit') {
			if (!member) return this.notInRoom(from);
			if (!this.mayUseMailbox(from, frame, key)) return;
			const outcome = await this.mailbox.deposit(frame.room, { id: frame.id, data: frame.data });
			// /metrics holds the new usage by the time the device hears the answer.
			this.mailboxUsage = await this.mailbox.usage();
			if (outcome === 'stored') {
				from.send({ type: 'deposited', room: frame.room, id: frame.id });
			} else {
				const { reason, message } = MAILBOX_REFUSALS[outcome];
				this.countRejected(reason);
				from.send({ type: 'error', code: 'mailbox-full', message, id: frame.id });
			}
		} else if (frame.type === 'take') {
			if (!member) return this.notInRoom(from);
			if (!this.mayUseMailbox(from, frame, key)) return;
			await this.mailbox.take(frame.room, frame.ids);
			this.mailboxUsage = await this.mailbox.usage();
		} else {
			const delivered =
				member &&
				!quiet &&
				(await this.directory.deliver(frame.room, frame.to, { type: 'signal', room: frame.room, from: from.id, data: frame.data }));
			if (delivered) this.framesForwarded++;
			else this.notInRoom(from);
		}
	}

	/** A peer that just left is an ordinary race, not abuse: say so and keep the socket. */
	private notInRoom(from: Connection): void {
		this.countRejected('not-in-room');
		from.send({ type: 'error', code: 'not-in-room', message: 'no such peer in this room' });
	}

	/**
	 * Whether `op` is signed by the room key `from` joined with, for this connection; if not, says
	 * so (with the id of a refused deposit, so that its depositor keeps it) and counts it.
	 */
	private mayUseMailbox(from: Connection, op: MailboxOp, key: Uint8Array | undefined): boolean {
		if (key && verifyMailboxOp(key, from.id, op)) return true;
		this.countRejected('forbidden');
		from.send({
			type: 'error',
			code: 'forbidden',
			message: key ? 'the signature is not the room key’s, for this connection and operation' : 'join the room with its key to use its mailbox',
			...(op.type === 'deposit' ? { id: op.id } : {})
		});
		return false;
	}

	/** The room's items, in pages that every client parses (MAILBOX_PAGE_BYTES). */
	private async handOutMailbox(to: Connection, room: string): Promise<void> {
		for (const page of mailboxPages(room, await this.mailbox.list(room))) to.send(page);
		// The device then knows it has everything that waited for it, also when nothing did.
		to.send({ type: 'mailbox-end', room });
	}

	private async leave(connection: Connection, room: string): Promise<void> {
		const remaining = await this.directory.leave(room, connection.id);
		await Promise.all(remaining.map((peer) => this.directory.deliver(room, peer, { type: 'peer-left', room, peer: connection.id })));
	}
}
