/**
 * The blind mailbox in Redis, shared by every server process and kept across restarts:
 *
 *   samen:mailbox:<room>        hash  itemId → {"data","at"}   expires 30 days after its last deposit
 *   samen:mailbox-bytes         total bytes held, for /metrics
 */
import { Redis } from 'ioredis';
import type { MailboxItem } from '../src/lib/transport/signaling-protocol';
import { DEFAULT_MAILBOX_LIMITS, fitsInRoom, type MailboxLimits, type MailboxStore, type Stored } from './mailbox';

const roomKey = (room: string) => `samen:mailbox:${room}`;
const TOTAL_KEY = 'samen:mailbox-bytes';

export class RedisMailbox implements MailboxStore {
	private constructor(
		private readonly redis: Redis,
		private readonly limits: MailboxLimits,
		private readonly clock: () => number
	) {}

	static async connect(url: string, limits: MailboxLimits = DEFAULT_MAILBOX_LIMITS, clock: () => number = Date.now): Promise<RedisMailbox> {
		const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
		await redis.connect();
		return new RedisMailbox(redis, limits, clock);
	}

	async deposit(room: string, item: MailboxItem): Promise<boolean> {
		const items = await this.fresh(room);
		if (!fitsInRoom(items, item, this.limits.maxRoomBytes)) return false;
		const replaced = items.find(([id]) => id === item.id)?.[1].data.length ?? 0;
		await this.redis
			.multi()
			.hset(roomKey(room), item.id, JSON.stringify({ data: item.data, at: this.clock() }))
			.pexpire(roomKey(room), this.limits.ttlMs)
			.incrby(TOTAL_KEY, item.data.length - replaced)
			.exec();
		return true;
	}

	async list(room: string): Promise<MailboxItem[]> {
		return (await this.fresh(room)).sort(([, a], [, b]) => a.at - b.at).map(([id, { data }]) => ({ id, data }));
	}

	async take(room: string, ids: string[]): Promise<void> {
		if (ids.length === 0) return;
		const values = await this.redis.hmget(roomKey(room), ...ids);
		const present = ids.filter((_, i) => values[i] !== null);
		if (present.length === 0) return;
		const bytes = values.reduce((sum, value) => sum + (value ? (JSON.parse(value) as Stored).data.length : 0), 0);
		await this.redis.multi().hdel(roomKey(room), ...present).decrby(TOTAL_KEY, bytes).exec();
	}

	async totalBytes(): Promise<number> {
		return Math.max(0, Number((await this.redis.get(TOTAL_KEY)) ?? 0));
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => undefined);
	}

	/** The room's items, with the expired ones removed. */
	private async fresh(room: string): Promise<[string, Stored][]> {
		const all = Object.entries(await this.redis.hgetall(roomKey(room))).map(([id, value]) => [id, JSON.parse(value) as Stored] as [string, Stored]);
		const oldest = this.clock() - this.limits.ttlMs;
		const expired = all.filter(([, stored]) => stored.at < oldest);
		if (expired.length > 0) {
			const bytes = expired.reduce((sum, [, stored]) => sum + stored.data.length, 0);
			await this.redis.multi().hdel(roomKey(room), ...expired.map(([id]) => id)).decrby(TOTAL_KEY, bytes).exec();
		}
		return all.filter(([, stored]) => stored.at >= oldest);
	}
}
