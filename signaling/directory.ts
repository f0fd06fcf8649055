/**
 * Who is in which room, and delivery of a frame to one peer wherever it is connected. One server
 * process keeps this in memory; several processes behind a load balancer share it through Redis
 * (./redis-directory.ts). Rooms (./rooms.ts) speaks only to this interface.
 */
import type { ServerFrame } from '../src/lib/transport/signaling-protocol';

export interface LocalPeer {
	readonly id: string;
	send(frame: ServerFrame): void;
}

export interface Directory {
	/** Makes a peer of this process reachable for deliveries. */
	attach(peer: LocalPeer): void;
	detach(peerId: string): void;
	/** Adds the peer to the room and returns the peers that were there before it, atomically. */
	join(room: string, peerId: string): Promise<string[]>;
	/** Removes the peer from the room and returns the peers that remain. */
	leave(room: string, peerId: string): Promise<string[]>;
	/** Hands `frame` to `peerId` if it is in `room`; false when it is not. */
	deliver(room: string, peerId: string, frame: ServerFrame): Promise<boolean>;
	/** Rooms with a member connected to this process. */
	readonly localRoomCount: number;
	close(): Promise<void>;
}

export class MemoryDirectory implements Directory {
	private readonly peers = new Map<string, LocalPeer>();
	private readonly rooms = new Map<string, Set<string>>();

	attach(peer: LocalPeer): void {
		this.peers.set(peer.id, peer);
	}

	detach(peerId: string): void {
		this.peers.delete(peerId);
	}

	async join(room: string, peerId: string): Promise<string[]> {
		let members = this.rooms.get(room);
		if (!members) this.rooms.set(room, (members = new Set()));
		const before = [...members];
		members.add(peerId);
		return before;
	}

	async leave(room: string, peerId: string): Promise<string[]> {
		const members = this.rooms.get(room);
		if (!members) return [];
		members.delete(peerId);
		if (members.size === 0) this.rooms.delete(room);
		return [...members];
	}

	async deliver(room: string, peerId: string, frame: ServerFrame): Promise<boolean> {
		const peer = this.peers.get(peerId);
		if (!peer || !this.rooms.get(room)?.has(peerId)) return false;
		peer.send(frame);
		return true;
	}

	get localRoomCount(): number {
		return this.rooms.size;
	}

	async close(): Promise<void> {}
}
