/**
 * The blind mailbox: sealed frames a device leaves for its room, kept until another device of the
 * room takes them. The server cannot open them; it only bounds them: per room by bytes and by
 * items, for all rooms together by bytes, and by age. In this process's memory, or in Redis
 * (./redis-mailbox.ts) so that they outlive a restart.
 *
 * An item costs its data, its id and MAILBOX_ITEM_OVERHEAD_BYTES (what keeping it takes beyond
 * both), so that many tiny items cannot hold far more memory than the byte bounds say. Every bound
 * and the byte count in /metrics are in that cost.
 *
 * Each operation costs O(1) in the number of items held, apart from list() (the room's items) and
 * the expired items it removes, each once: the store keeps running totals per room and overall,
 * and keeps every item on one list in deposit order, so the oldest, which expire first, are at the
 * front.
 */
import type { MailboxItem } from '../src/lib/transport/signaling-protocol';

export interface MailboxLimits {
	/** Cost (see mailboxItemCost) of what one room may hold; a deposit past it is refused. */
	maxRoomBytes: number;
	/** Items one room may hold. */
	maxRoomItems: number;
	/** Cost of what all rooms together may hold: in this process, or in the Redis all processes share. */
	maxTotalBytes: number;
	/** Items older than this are gone. */
	ttlMs: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = {
	maxRoomBytes: 1024 * 1024,
	maxRoomItems: 1024,
	maxTotalBytes: 256 * 1024 * 1024,
	ttlMs: 30 * 24 * 60 * 60 * 1000
};

/** What keeping one item takes besides its data and id (its entries in the store's indexes). */
export const MAILBOX_ITEM_OVERHEAD_BYTES = 64;

/** What an item counts against the bounds: data and id characters (ASCII: bytes), and the overhead. */
export function mailboxItemCost(item: MailboxItem): number {
	return item.data.length + item.id.length + MAILBOX_ITEM_OVERHEAD_BYTES;
}

/** 'stored', or the bound a deposit would have gone past. */
export type DepositOutcome = 'stored' | 'room-bytes' | 'room-items' | 'total-bytes';

export interface MailboxUsage {
	/** Cost of every item held (see mailboxItemCost). */
	bytes: number;
	items: number;
}

export interface MailboxStore {
	/**
	 * Keeps the item, replacing one of the same id in the room (whose cost then counts as freed);
	 * refused, and nothing changes, when it does not fit.
	 */
	deposit(room: string, item: MailboxItem): Promise<DepositOutcome>;
	/** The room's items that have not expired, oldest first. */
	list(room: string): Promise<MailboxItem[]>;
	take(room: string, ids: string[]): Promise<void>;
	/** What all rooms hold, not counting expired items. */
	usage(): Promise<MailboxUsage>;
	close(): Promise<void>;
}

/** One item as kept in memory, linked into the list of all items in deposit order. */
interface Held {
	room: string;
	id: string;
	data: string;
	at: number;
	cost: number;
	older?: Held;
	newer?: Held;
}

interface Room {
	/** In deposit order: a replaced item is deleted and set again. */
	items: Map<string, Held>;
	bytes: number;
}

export class MemoryMailbox implements MailboxStore {
	private readonly limits: MailboxLimits;
	private readonly rooms = new Map<string, Room>();
	/** Ends of the list of every item, in deposit order. */
	private oldest?: Held;
	private newest?: Held;
	private bytes = 0;
	private items = 0;
	/** Deposit times never go backwards, even when the clock does, so that the list stays in time order. */
	private lastAt = -Infinity;

	constructor(
		limits: Partial<MailboxLimits> = {},
		private readonly clock: () => number = Date.now
	) {
		this.limits = { ...DEFAULT_MAILBOX_LIMITS, ...limits };
	}

	async deposit(roomId: string, item: MailboxItem): Promise<DepositOutcome> {
		this.expire();
		const room = this.rooms.get(roomId);
		const old = room?.items.get(item.id);
		const cost = mailboxItemCost(item);
		const freed = old?.cost ?? 0;
		if ((room?.bytes ?? 0) - freed + cost > this.limits.maxRoomBytes) return 'room-bytes';
		if (!old && (room?.items.size ?? 0) + 1 > this.limits.maxRoomItems) return 'room-items';
		if (this.bytes - freed + cost > this.limits.maxTotalBytes) return 'total-bytes';
		if (old) this.remove(old);
		this.lastAt = Math.max(this.lastAt, this.clock());
		const held: Held = { room: roomId, id: item.id, data: item.data, at: this.lastAt, cost, older: this.newest };
		if (this.newest) this.newest.newer = held;
		else this.oldest = held;
		this.newest = held;
		const kept = this.rooms.get(roomId) ?? { items: new Map<string, Held>(), bytes: 0 };
		kept.items.set(item.id, held);
		kept.bytes += cost;
		this.rooms.set(roomId, kept);
		this.bytes += cost;
		this.items++;
		return 'stored';
	}

	async list(room: string): Promise<MailboxItem[]> {
		this.expire();
		return [...(this.rooms.get(room)?.items.values() ?? [])].map(({ id, data }) => ({ id, data }));
	}

	async take(room: string, ids: string[]): Promise<void> {
		this.expire();
		for (const id of ids) {
			const held = this.rooms.get(room)?.items.get(id);
			if (held) this.remove(held);
		}
	}

	/** Removes every room's expired items on the way, so that they are neither counted nor kept. */
	async usage(): Promise<MailboxUsage> {
		this.expire();
		return { bytes: this.bytes, items: this.items };
	}

	async close(): Promise<void> {}

	/** Removes the items deposited longer than the time to live ago: the front of the list. */
	private expire(): void {
		const oldestKept = this.clock() - this.limits.ttlMs;
		while (this.oldest && this.oldest.at < oldestKept) this.remove(this.oldest);
	}

	private remove(held: Held): void {
		if (held.older) held.older.newer = held.newer;
		else this.oldest = held.newer;
		if (held.newer) held.newer.older = held.older;
		else this.newest = held.older;
		held.older = held.newer = undefined;
		const room = this.rooms.get(held.room)!;
		room.items.delete(held.id);
		room.bytes -= held.cost;
		if (room.items.size === 0) this.rooms.delete(held.room);
		this.bytes -= held.cost;
		this.items--;
	}
}
