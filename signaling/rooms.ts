/**
 * Rooms of the signaling server: who is in which opaque room, and forwarding between them.
 * Protocol: ../src/lib/transport/signaling-protocol.ts. The server keeps no state beyond open sockets.
 */
import {
	MAX_ROOMS_PER_CONNECTION,
	parseClientFrame,
	SignalingFrameError,
	type ServerFrame
} from '../src/lib/transport/signaling-protocol';

export interface Connection {
	readonly id: string;
	readonly rooms: Set<string>;
	send(frame: ServerFrame): void;
}

export interface RoomStats {
	framesForwarded: number;
	framesRejected: number;
}

export class Rooms {
	private readonly members = new Map<string, Map<string, Connection>>();
	readonly stats: RoomStats = { framesForwarded: 0, framesRejected: 0 };

	get roomCount(): number {
		return this.members.size;
	}

	/** Handles one text frame from `from`; a bad frame is answered with an error frame and counted. */
	receive(from: Connection, text: string): void {
		try {
			const frame = parseClientFrame(text);
			if (frame.type === 'join') this.join(from, frame.room);
			else if (frame.type === 'leave') this.leave(from, frame.room);
			else {
				const target = this.members.get(frame.room)?.get(frame.to);
				if (!from.rooms.has(frame.room) || !target) throw new SignalingFrameError('not-in-room', 'no such peer in this room');
				target.send({ type: 'signal', room: frame.room, from: from.id, data: frame.data });
				this.stats.framesForwarded++;
			}
		} catch (error) {
			if (!(error instanceof SignalingFrameError)) throw error;
			this.stats.framesRejected++;
			from.send({ type: 'error', code: error.code, message: error.message });
		}
	}

	disconnect(connection: Connection): void {
		for (const room of [...connection.rooms]) this.leave(connection, room);
	}

	private join(connection: Connection, room: string): void {
		if (connection.rooms.has(room)) return;
		if (connection.rooms.size >= MAX_ROOMS_PER_CONNECTION) throw new SignalingFrameError('too-many-rooms', 'too many rooms');
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
