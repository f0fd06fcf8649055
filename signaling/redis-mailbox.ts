/**
 * The blind mailbox in Redis, shared by every server process and kept across restarts:
 *
 *   samen:mailbox:items:<room>   hash    itemId → {"data","at"}: the room's items; at = deposit time, ms
 *   samen:mailbox:expiry         zset    "<room> <itemId>" scored by deposit time: the order items expire in
 *   samen:mailbox:room-bytes     hash    room → cost of its items, for the per-room byte bound
 *   samen:mailbox:room-items     hash    room → how many items it holds, for the per-room item bound
 *   samen:mailbox:bytes          string  cost of all rooms' items, for the total bound and /metrics
 *   samen:mailbox:count          string  items all rooms hold, for /metrics
 *   samen:mailbox:layout         string  "2": the counts above are costs (./mailbox.ts) and items
 *
 * An item's cost is its data, its id and MAILBOX_ITEM_OVERHEAD_BYTES (./mailbox.ts), as in memory.
 *
 * Every write is one Lua script (deposit, take, sweep), which Redis runs whole and alone: no other
 * process can come between a bound being checked and the deposit it allows, and an item's cost is
 * added once when it is stored and subtracted once when it is removed, however many devices take
 * it at once. Only the scripts write the counts, always together with the items they count, so the
 * counts stay exact. A deposit reads and writes a fixed number of keys, whatever the room holds:
 * O(log n) for the expiry index, O(1) otherwise.
 *
 * Items expire explicitly, never through PEXPIRE: a key that Redis drops by itself would take its
 * items away without their cost being subtracted. Every script first sweeps: it removes each item
 * deposited longer than the time to live ago, found through samen:mailbox:expiry in deposit order,
 * and subtracts its cost. usage() sweeps too, so it never counts an expired item, whichever room
 * holds it. Each item is swept once, so the cost is paid per item, not per call. list() only
 * leaves expired items out; it writes nothing.
 *
 * A Redis written by an earlier server (no layout key: byte counts of data only, no item counts)
 * is recounted from the expiry index once, when the first process of this version connects.
 *
 * Room and item ids are base64url (signaling-protocol.ts), so a space separates them in the expiry
 * index, and item data is base64url too, so its length in Lua (bytes) is its length in JavaScript.
 * The scripts reach a room's hash by its name, which a single Redis allows and a Redis Cluster
 * would not.
 */
import { Redis } from 'ioredis';
import type { MailboxItem } from '../src/lib/transport/signaling-protocol';
import {
	DEFAULT_MAILBOX_LIMITS,
	MAILBOX_ITEM_OVERHEAD_BYTES,
	type DepositOutcome,
	type MailboxLimits,
	type MailboxStore,
	type MailboxUsage
} from './mailbox';

/** One item as kept in its room's hash: its sealed data and when it was deposited. */
interface Stored {
	data: string;
	at: number;
}

const ROOM_PREFIX = 'samen:mailbox:items:';
const roomKey = (room: string) => ROOM_PREFIX + room;
const LAYOUT = '2';
/** The keys every script is given, in this order. */
const KEYS = [
	'samen:mailbox:expiry',
	'samen:mailbox:room-bytes',
	'samen:mailbox:room-items',
	'samen:mailbox:bytes',
	'samen:mailbox:count',
	'samen:mailbox:layout'
];

/** The start of every script: the keys by name, and what an item costs. */
const PRELUDE = `
local expiry, roomBytes, roomItems, total, count, layout = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local function cost(id, value) return #cjson.decode(value).data + #id + ${MAILBOX_ITEM_OVERHEAD_BYTES} end
`;

/** The start of every script that reads or writes items. ARGV[1]: the deposit time of the oldest item still kept. */
const SWEEP = `${PRELUDE}
-- Removes one item and frees its cost; nothing when it is not there.
local function remove(room, id)
  local key = '${ROOM_PREFIX}' .. room
  redis.call('ZREM', expiry, room .. ' ' .. id)
  local value = redis.call('HGET', key, id)
  if not value then return end
  local bytes = cost(id, value)
  redis.call('HDEL', key, id)
  if redis.call('HINCRBY', roomBytes, room, -bytes) <= 0 then redis.call('HDEL', roomBytes, room) end
  if redis.call('HINCRBY', roomItems, room, -1) <= 0 then redis.call('HDEL', roomItems, room) end
  redis.call('DECRBY', total, bytes)
  redis.call('DECR', count)
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', expiry, '-inf', '(' .. ARGV[1])) do
  local room, id = string.match(member, '^(%S+) (%S+)$')
  remove(room, id)
end
`;

/**
 * ARGV[2..]: room, item id, {"data","at"}, at, then the bounds: room bytes, room items, total bytes.
 * Returns a DepositOutcome.
 */
const DEPOSIT = `${SWEEP}
local room, id, value, at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = '${ROOM_PREFIX}' .. room
local old = redis.call('HGET', key, id)
local freed = old and cost(id, old) or 0
local bytes = cost(id, value)
if tonumber(redis.call('HGET', roomBytes, room) or 0) - freed + bytes > tonumber(ARGV[6]) then return 'room-bytes' end
if not old and tonumber(redis.call('HGET', roomItems, room) or 0) + 1 > tonumber(ARGV[7]) then return 'room-items' end
if tonumber(redis.call('GET', total) or 0) - freed + bytes > tonumber(ARGV[8]) then return 'total-bytes' end
redis.call('HSET', key, id, value)
redis.call('ZADD', expiry, at, room .. ' ' .. id)
redis.call('HINCRBY', roomBytes, room, bytes - freed)
redis.call('INCRBY', total, bytes - freed)
if not old then
  redis.call('HINCRBY', roomItems, room, 1)
  redis.call('INCR', count)
end
return 'stored'
`;

/** ARGV[2..]: room, then the ids to remove. */
const TAKE = `${SWEEP}
for i = 3, #ARGV do remove(ARGV[2], ARGV[i]) end
`;

/** Returns the cost and number of the items all rooms hold once the expired ones are gone. */
const USAGE = `${SWEEP}
return { tonumber(redis.call('GET', total) or 0), tonumber(redis.call('GET', count) or 0) }
`;

/** Recounts every count from the items, once, when Redis was written by an earlier layout. ARGV[2]: the layout. */
const RECOUNT = `${PRELUDE}
if redis.call('GET', layout) == ARGV[2] then return 0 end
redis.call('DEL', roomBytes, roomItems, total, count)
for _, member in ipairs(redis.call('ZRANGE', expiry, 0, -1)) do
  local room, id = string.match(member, '^(%S+) (%S+)$')
  local value = redis.call('HGET', '${ROOM_PREFIX}' .. room, id)
  if value then
    local bytes = cost(id, value)
    redis.call('HINCRBY', roomBytes, room, bytes)
    redis.call('HINCRBY', roomItems, room, 1)
    redis.call('INCRBY', total, bytes)
    redis.call('INCR', count)
  else
    redis.call('ZREM', expiry, member)
  end
end
redis.call('SET', layout, ARGV[2])
return 1
`;

export class RedisMailbox implements MailboxStore {
	private constructor(
		private readonly redis: Redis,
		private readonly limits: MailboxLimits,
		private readonly clock: () => number
	) {}

	static async connect(url: string, limits: Partial<MailboxLimits> = {}, clock: () => number = Date.now): Promise<RedisMailbox> {
		const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
		await redis.connect();
		const mailbox = new RedisMailbox(redis, { ...DEFAULT_MAILBOX_LIMITS, ...limits }, clock);
		await mailbox.run(RECOUNT, LAYOUT);
		return mailbox;
	}

	async deposit(room: string, item: MailboxItem): Promise<DepositOutcome> {
		const at = this.clock();
		const stored: Stored = { data: item.data, at };
		const { maxRoomBytes, maxRoomItems, maxTotalBytes } = this.limits;
		return (await this.run(DEPOSIT, room, item.id, JSON.stringify(stored), at, maxRoomBytes, maxRoomItems, maxTotalBytes)) as DepositOutcome;
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

	async usage(): Promise<MailboxUsage> {
		const [bytes, items] = (await this.run(USAGE)) as [number, number];
		return { bytes, items };
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
