/**
 * The blind mailbox in Redis, shared by every server process and kept across restarts:
 *
 *   samen:mailbox:items:<room>   hash    itemId → {"data","at"}: the room's items; at = deposit time, ms
 *   samen:mailbox:expiry         zset    "<room> <itemId>" scored by deposit time: the order items expire in
 *   samen:mailbox:room-bytes     hash    room → bytes its items hold, for the per-room bound
 *   samen:mailbox:bytes          string  bytes all rooms hold, for /metrics
 *
 * Every write is one Lua script (deposit, take, sweep), which Redis runs whole and alone: no other
 * process can come between a room's bound being checked and the deposit it allows, and an item's
 * bytes are added once when it is stored and subtracted once when it is removed, however many
 * devices take it at once. Only the scripts write the two byte counts, always together with the
 * items they count, so the counts stay exact.
 *
 * Items expire explicitly, never through PEXPIRE: a key that Redis drops by itself would take its
 * items away without their bytes being subtracted. Every script first sweeps: it removes each item
 * deposited longer than the time to live ago, found through samen:mailbox:expiry in deposit order,
 * and subtracts its bytes. totalBytes() sweeps too, so it never counts an expired item, whichever
 * room holds it. Each item is swept once, so the cost is paid per item, not per call. list() only
 * leaves expired items out; it writes nothing.
 *
 * Room and item ids are base64url (signaling-protocol.ts), so a space separates them in the expiry
 * index, and item data is base64url too, so its length in Lua (bytes) is its length in JavaScript.
 * The scripts reach a room's hash by its name, which a single Redis allows and a Redis Cluster
 * would not.
 */
import { Redis } from 'ioredis';
import type { MailboxItem } from '../src/lib/transport/signaling-protocol';
import { DEFAULT_MAILBOX_LIMITS, type MailboxLimits, type MailboxStore, type Stored } from './mailbox';

const ROOM_PREFIX = 'samen:mailbox:items:';
const roomKey = (room: string) => ROOM_PREFIX + room;
/** The keys every script is given, in this order. */
const KEYS = ['samen:mailbox:expiry', 'samen:mailbox:room-bytes', 'samen:mailbox:bytes'];

/** The start of every script. ARGV[1]: the deposit time of the oldest item still kept. */
const SWEEP = `
local expiry, roomBytes, total = KEYS[1], KEYS[2], KEYS[3]
local function size(value) return #cjson.decode(value).data end
-- Removes one item and frees its bytes; nothing when it is not there.
local function remove(room, id)
  local key = '${ROOM_PREFIX}' .. room
  redis.call('ZREM', expiry, room .. ' ' .. id)
  local value = redis.call('HGET', key, id)
  if not value then return end
  local bytes = size(value)
  redis.call('HDEL', key, id)
  if redis.call('HINCRBY', roomBytes, room, -bytes) <= 0 then redis.call('HDEL', roomBytes, room) end
  redis.call('DECRBY', total, bytes)
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', '(' .. ARGV[1])) do
  local room, id = string.match(member, '^(%S+) (%S+)$')
  remove(room, id)
end
`;

/** ARGV[2..]: room, item id, {"data","at"}, at, the room's bound. Returns 1 when stored, 0 when it does not fit. */
const DEPOSIT = `${SWEEP}
local room, id, value, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = '${ROOM_PREFIX}' .. room
local old = redis.call('HGET', key, id)
local freed = old and size(old) or 0
local bytes = size(value)
if tonumber(redis.call('HGET', roomBytes, room) or 0) - freed + bytes > tonumber(ARGV[6]) then return 0 end
redis.call('HSET', key, id, value)
redis.call('ZADD', expiry, at, room .. ' ' .. id)
redis.call('HINCRBY', roomBytes, room, bytes - freed)
redis.call('INCRBY', total, bytes - freed)
return 1
`;

/** ARGV[2..]: room, then the ids to remove. */
const TAKE = `${SWEEP}
for i = 3, #ARGV do remove(ARGV[2], ARGV[i]) end
`;

/** Returns the bytes all rooms hold once the expired items are gone. */
const TOTAL = `${SWEEP}
return tonumber(redis.call('GET', total) or 0)
`;

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
		const at = this.clock();
		const stored: Stored = { data: item.data, at };
		return (await this.run(DEPOSIT, room, item.id, JSON.stringify(stored), at, this.limits.maxRoomBytes)) === 1;
	}

	async list(room: string): Promise<MailboxItem[]> {
		const oldest = this.oldestKept();
		return Object.entries(await this.redis.hgetall(roomKey(room)))
			.map(([id, value]) => ({ id, ...(JSON.parse(value) as Stored) }))
			.filter((item) => item.at >= oldest)
			.sort((a, b) => a.at - b.at)
			.map(({ id, data }) => ({ id, data }));
	}

	async take(room: string, ids: string[]): Promise<void> {
		if (ids.length > 0) await this.run(TAKE, room, ...ids);
	}

	async totalBytes(): Promise<number> {
		return Number(await this.run(TOTAL));
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => undefined);
	}

	private run(script: string, ...args: (string | number)[]): Promise<unknown> {
		return this.redis.eval(script, KEYS.length, ...KEYS, this.oldestKept(), ...args);
	}

	/** Items deposited before this moment have expired. */
	private oldestKept(): number {
		return this.clock() - this.limits.ttlMs;
	}
}
