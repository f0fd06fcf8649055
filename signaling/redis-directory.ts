/**
 * The room directory shared by several server processes through Redis, so that two devices
 * connected to different processes still meet. Keys and channels:
 *
 *   samen:room:<room>        hash  peerId → id of the process it is connected to
 *   samen:process:<id>       string with a 15 s expiry, renewed every 5 s while the process lives
 *   samen:deliver:<id>       pub/sub channel: {"room", "peer", "frame"} for a peer connected to process <id>
 *
 * A process that dies without cleaning up leaves members behind; they are recognised by their
 * expired process key and removed the next time someone joins or leaves their room.
 *
 * A peer id belongs to one connection on one process for its whole life, so which process holds
 * a room member is cached: forwarding a signal then costs one PUBLISH, not a lookup first. The
 * cache forgets a member when this process sees it leave. Until then a frame for a peer that left
 * elsewhere still goes to its process, and `deliver` cannot know better than true (pub/sub gives
 * no receipt); the receiving process hands a frame only to a local peer that is in the frame's
 * room at that moment, and drops the rest.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ServerFrame } from '../src/lib/transport/signaling-protocol';
import type { Directory, LocalPeer } from './directory';

const PROCESS_TTL_MS = 15_000;
const MAX_CACHED_OWNERS = 200_000;
const RENEW_EVERY_MS = 5_000;
const roomKey = (room: string) => `samen:room:${room}`;
const processKey = (id: string) => `samen:process:${id}`;
const deliveryChannel = (id: string) => `samen:deliver:${id}`;

export class RedisDirectory implements Directory {
	readonly processId = randomBytes(8).toString('hex');
	private readonly local = new Map<string, LocalPeer>();
	private readonly localRooms = new Map<string, Set<string>>();
	/** "room\npeer" → id of the process the peer is connected to. */
	private readonly owners = new Map<string, string>();
	private renewTimer?: ReturnType<typeof setInterval>;

	private constructor(
		private readonly commands: Redis,
		private readonly subscriber: Redis
	) {}

	static async connect(url: string): Promise<RedisDirectory> {
		const options = { lazyConnect: true, maxRetriesPerRequest: 3 };
		const directory = new RedisDirectory(new Redis(url, options), new Redis(url, options));
		await Promise.all([directory.commands.connect(), directory.subscriber.connect()]);
		directory.subscriber.on('message', (_channel: string, message: string) => directory.receive(message));
		await directory.subscriber.subscribe(deliveryChannel(directory.processId));
		await directory.renew();
		directory.renewTimer = setInterval(() => void directory.renew().catch(() => undefined), RENEW_EVERY_MS);
		directory.renewTimer.unref();
		return directory;
	}

	attach(peer: LocalPeer): void {
		this.local.set(peer.id, peer);
	}

	detach(peerId: string): void {
		this.local.delete(peerId);
	}

	async join(room: string, peerId: string): Promise<string[]> {
		// Tracked first: another process may forward a frame to the peer as soon as Redis has it.
		this.track(room, peerId, true);
		const results = await this.commands.multi().hgetall(roomKey(room)).hset(roomKey(room), peerId, this.processId).exec();
		const before = (results?.[0]?.[1] ?? {}) as Record<string, string>;
		return this.living(room, before);
	}

	async leave(room: string, peerId: string): Promise<string[]> {
		this.track(room, peerId, false);
		this.owners.delete(`${room}\n${peerId}`);
		const results = await this.commands.multi().hdel(roomKey(room), peerId).hgetall(roomKey(room)).exec();
		return this.living(room, (results?.[1]?.[1] ?? {}) as Record<string, string>);
	}

	async deliver(room: string, peerId: string, frame: ServerFrame): Promise<boolean> {
		const owner = await this.ownerOf(room, peerId);
		if (!owner) return false;
		if (owner === this.processId) return this.handToLocal(room, peerId, frame);
		// Not awaited: pub/sub gives no receipt worth a round trip.
		void this.commands.publish(deliveryChannel(owner), JSON.stringify({ room, peer: peerId, frame })).catch(() => undefined);
		return true;
	}

	private async ownerOf(room: string, peerId: string): Promise<string | undefined> {
		const key = `${room}\n${peerId}`;
		const cached = this.owners.get(key);
		if (cached) return cached;
		const owner = await this.commands.hget(roomKey(room), peerId);
		if (!owner) return undefined;
		if (this.owners.size >= MAX_CACHED_OWNERS) this.owners.clear();
		this.owners.set(key, owner);
		return owner;
	}

	get localRoomCount(): number {
		return this.localRooms.size;
	}

	async close(): Promise<void> {
		clearInterval(this.renewTimer);
		for (const [room, peers] of [...this.localRooms]) {
			for (const peer of [...peers]) await this.leave(room, peer).catch(() => undefined);
		}
		await this.commands.del(processKey(this.processId)).catch(() => undefined);
		this.subscriber.disconnect();
		await this.commands.quit().catch(() => undefined);
	}

	private receive(message: string): void {
		let parsed: { room?: unknown; peer?: unknown; frame?: ServerFrame };
		try {
			parsed = JSON.parse(message) as typeof parsed;
		} catch {
			return;
		}
		if (typeof parsed.room !== 'string' || typeof parsed.peer !== 'string' || !parsed.frame) return;
		if (parsed.frame.type === 'peer-left') this.owners.delete(`${parsed.frame.room}\n${parsed.frame.peer}`);
		this.handToLocal(parsed.room, parsed.peer, parsed.frame);
	}

	/** Hands `frame` to a peer of this process if it is in `room`; false when it is not. */
	private handToLocal(room: string, peerId: string, frame: ServerFrame): boolean {
		const peer = this.localRooms.get(room)?.has(peerId) ? this.local.get(peerId) : undefined;
		peer?.send(frame);
		return !!peer;
	}

	private renew(): Promise<unknown> {
		return this.commands.set(processKey(this.processId), '1', 'PX', PROCESS_TTL_MS);
	}

	private track(room: string, peerId: string, present: boolean): void {
		if (!this.local.has(peerId)) return;
		let peers = this.localRooms.get(room);
		if (present) {
			if (!peers) this.localRooms.set(room, (peers = new Set()));
			peers.add(peerId);
		} else if (peers) {
			peers.delete(peerId);
			if (peers.size === 0) this.localRooms.delete(room);
		}
	}

	/** The members whose process is alive; the others are removed. */
	private async living(room: string, members: Record<string, string>): Promise<string[]> {
		const processes = [...new Set(Object.values(members))].filter((id) => id !== this.processId);
		const alive = new Set([this.processId]);
		if (processes.length > 0) {
			const pipeline = this.commands.pipeline();
			for (const id of processes) pipeline.exists(processKey(id));
			const answers = (await pipeline.exec()) ?? [];
			processes.forEach((id, i) => {
				if (answers[i]?.[1] === 1) alive.add(id);
			});
		}
		const dead = Object.entries(members).filter(([, owner]) => !alive.has(owner)).map(([peer]) => peer);
		if (dead.length > 0) await this.commands.hdel(roomKey(room), ...dead);
		return Object.entries(members).filter(([, owner]) => alive.has(owner)).map(([peer]) => peer);
	}
}
