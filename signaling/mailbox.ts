/**
 * The blind mailbox: sealed frames a device leaves for its room, kept until another device of the
 * room takes them. The server cannot open them; it only bounds them, by size per room and by age.
 * In this process's memory, or in Redis (./redis-mailbox.ts) so that they outlive a restart.
 */
import type { MailboxItem } from '../src/lib/transport/signaling-protocol';

export interface MailboxLimits {
	/** Bytes of sealed data one room may hold; a deposit past it is refused. */
	maxRoomBytes: number;
	/** Items older than this are gone. */
	ttlMs: number;
}

export const DEFAULT_MAILBOX_LIMITS: MailboxLimits = { maxRoomBytes: 1024 * 1024, ttlMs: 30 * 24 * 60 * 60 * 1000 };

export interface MailboxStore {
	/** Keeps the item; false when the room's mailbox has no room for it. */
	deposit(room: string, item: MailboxItem): Promise<boolean>;
	/** The room's items that have not expired, oldest first. */
	list(room: string): Promise<MailboxItem[]>;
	take(room: string, ids: string[]): Promise<void>;
	/** Bytes held for all rooms, not counting expired items. */
	totalBytes(): Promise<number>;
	close(): Promise<void>;
}

/** One item as kept: its sealed data and when it was deposited. */
export interface Stored {
	data: string;
	at: number;
}

/** Whether `item` fits in a room that holds `items`, counting a same-id item it replaces as freed. */
function fitsInRoom(items: Iterable<[string, Stored]>, item: MailboxItem, maxRoomBytes: number): boolean {
	let used = 0;
	for (const [id, stored] of items) if (id !== item.id) used += stored.data.length;
	return used + item.data.length <= maxRoomBytes;
}

export class MemoryMailbox implements MailboxStore {
	private readonly rooms = new Map<string, Map<string, Stored>>();

	constructor(
		private readonly limits: MailboxLimits = DEFAULT_MAILBOX_LIMITS,
		private readonly clock: () => number = Date.now
	) {}

	async deposit(room: string, item: MailboxItem): Promise<boolean> {
		const items = this.fresh(room);
		if (!fitsInRoom(items, item, this.limits.maxRoomBytes)) return false;
		items.set(item.id, { data: item.data, at: this.clock() });
		this.rooms.set(room, items);
		return true;
	}

	async list(room: string): Promise<MailboxItem[]> {
		return [...this.fresh(room)].sort(([, a], [, b]) => a.at - b.at).map(([id, { data }]) => ({ id, data }));
	}

	async take(room: string, ids: string[]): Promise<void> {
		const items = this.rooms.get(room);
		if (!items) return;
		for (const id of ids) items.delete(id);
		if (items.size === 0) this.rooms.delete(room);
	}

	/** Drops every room's expired items on the way, so that they are neither counted nor kept. */
	async totalBytes(): Promise<number> {
		let total = 0;
		for (const room of [...this.rooms.keys()]) for (const stored of this.fresh(room).values()) total += stored.data.length;
		return total;
	}

	async close(): Promise<void> {}

	/** The room's items, with the expired ones removed. */
	private fresh(room: string): Map<string, Stored> {
		const items = this.rooms.get(room) ?? new Map<string, Stored>();
		const oldest = this.clock() - this.limits.ttlMs;
		for (const [id, stored] of items) if (stored.at < oldest) items.delete(id);
		if (items.size === 0) this.rooms.delete(room);
		return items;
	}
}
