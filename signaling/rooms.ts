/**
 * Rooms of the signaling server: who is in which opaque room, and forwarding between them.
 * Protocol: ../src/lib/transport/signaling-protocol.ts. Nothing here outlives the open sockets.
 */
import {
	CLOSE_CODES,
	parseClientFrame,
	SignalingFrameError,
	type ServerFrame
} from '../src/lib/transport/signaling-protocol';

export interface Connection {
	readonly id: string;
	readonly rooms: Set<string>;
	send(frame: ServerFrame): void;
}

/** What to do with a connection after one of its frames: keep it, or close it with a code. */
export type Verdict = { close: number; reason: string } | undefined;

export type RejectReason = 'malformed' | 'too-large' | 'too-many-rooms' | 'too-fast' | 'not-in-room' | 'too-many-connections' | 'idle';

export class Rooms {
	private readonly members = new Map<string, Map<string, Connection>>();
	framesForwarded = 0;
	readonly rejected = new Map<RejectReason, number>();

	constructor(private readonly maxRoomsPerConnection: number) {}

	get roomCount(): number {
		return this.members.size;
	}

	countRejected(reason: RejectReason): void {
		this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
	}

	receive(from: Connection, text: string): Verdict {
		let frame;
		try {
			frame = parseClientFrame(text);
		} catch (error) {
			if (!(error instanceof SignalingFrameError)) throw error;
			this.countRejected(error.code === 'too-large' ? 'too-large' : 'malformed');
			return { close: error.code === 'too-large' ? CLOSE_CODES.tooLarge : CLOSE_CODES.malformed, reason: error.message };
		}
		if (frame.type === 'join') {
			if (from.rooms.has(frame.room)) return undefined;
			if (from.rooms.size >= this.maxRoomsPerConnection) {
				this.countRejected('too-many-rooms');
				return { close: CLOSE_CODES.tooManyRooms, reason: `at most ${this.maxRoomsPerConnection} rooms per connection` };
			}
			this.join(from, frame.room);
		} else if (frame.type === 'leave') {
			this.leave(from, frame.room);
		} else {
			const target = this.members.get(frame.room)?.get(frame.to);
			if (!from.rooms.has(frame.room) || !target) {
				// A peer that just left is an ordinary race, not abuse: say so and keep the socket.
				this.countRejected('not-in-room');
				from.send({ type: 'error', code: 'not-in-room', message: 'no such peer in this room' });
				return undefined;
			}
			target.send({ type: 'signal', room: frame.room, from: from.id, data: frame.data });
			this.framesForwarded++;
		}
		return undefined;
	}

	disconnect(connection: Connection): void {
		for (const room of [...connection.rooms]) this.leave(connection, room);
	}

	private join(connection: Connection, room: string): void {
		let members = this.members.get(room);
		if (!members) this.members.set(room, (members = new Map()));
		connection.send({ type: 'joined', room, peers: [...members.keys()] });
		for (const member of members.values()) member.send({ type: 'peer-joined', room, peer: connection.id });
		members.set(connection.id, connection);
		connection.rooms.add(room);
	}

	private leave(connection: Connection, room: string): void {
		if (!connection.rooms.delete(room)) return;
		const members = this.members.get(room);
		if (!members) return;
		members.delete(connection.id);
		if (members.size === 0) this.members.delete(room);
		for (const member of members.values()) member.send({ type: 'peer-left', room, peer: connection.id });
	}
}
