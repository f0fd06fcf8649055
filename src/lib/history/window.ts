/**
 * The history window: a linked device receives the messages of the 365 days before it was linked,
 * and later ones, never older. Its *floor* is its `linkedAt` on the signed device list minus
 * HISTORY_WINDOW_MS (the primary has none), so every device computes every other device's floor
 * from the same signed fact. A message is inside a device's window when `sentAt >= floor`.
 *
 * Messages live in month documents (../chats/messages.ts), so the floor falls inside one month,
 * the device's *boundary month*. For a peer, a month document is
 *   - not shared at all when the month ends at or before the peer's floor;
 *   - shared as an *excerpt* when the month holds the peer's floor: a separate small Yjs document
 *     holding only the messages at or after the floor, under a client id of its own (derived from
 *     the topic, the floor and what it holds), never the month's own history, never updated live;
 *   - shared whole otherwise.
 * A device holds only an excerpt of its own boundary month, so it never shares that month with a
 * device whose floor is earlier (that device has more), and shares only excerpts of it otherwise.
 *
 * The receiving side checks the same rules (`mayApply`): an update for a month wholly before its
 * floor is refused, and for its boundary month only a self-contained excerpt whose every message is
 * inside the window is applied.
 */
import * as Y from 'yjs';
import { hash } from '../crypto';
import { messagesMap, monthTopicRange, type ChatMessage } from '../chats/messages';

export const HISTORY_WINDOW_MS = 365 * 24 * 60 * 60 * 1000;

/** No floor: the primary holds everything it ever wrote or received. */
export const NO_FLOOR = Number.NEGATIVE_INFINITY;

export function historyFloor(device: { role: 'primary' | 'companion'; linkedAt: number }): number {
	return device.role === 'primary' ? NO_FLOOR : device.linkedAt - HISTORY_WINDOW_MS;
}

export type Sharing = { kind: 'whole' } | { kind: 'none' } | { kind: 'excerpt'; since: number };

/** How a document of `topic` is shared with a peer whose floor is `peerFloor`, by a device whose floor is `ownFloor`. */
export function sharing(topic: string, peerFloor: number, ownFloor: number): Sharing {
	const range = monthTopicRange(topic);
	if (!range) return { kind: 'whole' };
	if (range.end <= peerFloor) return { kind: 'none' };
	if (range.start < ownFloor) return peerFloor < ownFloor ? { kind: 'none' } : { kind: 'excerpt', since: peerFloor };
	if (range.start < peerFloor) return { kind: 'excerpt', since: peerFloor };
	return { kind: 'whole' };
}

/**
 * The messages of `doc` sent at or after `since`, as one self-contained Yjs update. The same
 * messages give the same bytes from any device, so an excerpt received twice changes nothing.
 */
export function excerpt(topic: string, doc: Y.Doc, since: number): Uint8Array {
	const kept = [...messagesMap(doc).entries()]
		.filter(([, message]) => typeof message?.sentAt === 'number' && message.sentAt >= since)
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	const content = new TextEncoder().encode(JSON.stringify([topic, since, kept]));
	const digest = hash(content);
	const copy = new Y.Doc({ gc: false });
	// A client id of its own per content: two different excerpts never claim the same Yjs ids.
	copy.clientID = new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0) >>> 1;
	copy.transact(() => {
		const messages = messagesMap(copy);
		for (const [id, message] of kept) messages.set(id, message as ChatMessage);
	});
	const update = Y.encodeStateAsUpdate(copy);
	copy.destroy();
	return update;
}

/** Whether a device whose floor is `floor` applies `update` to `topic`: nothing of before its window. */
export function mayApply(topic: string, update: Uint8Array, floor: number): boolean {
	const range = monthTopicRange(topic);
	if (!range || range.start >= floor) return true;
	if (range.end <= floor) return false;
	// The boundary month: only an excerpt, complete in itself, with every message inside the window.
	const scratch = new Y.Doc({ gc: false });
	try {
		Y.applyUpdate(scratch, update);
		const store = scratch.store as unknown as { pendingStructs: unknown; pendingDs: unknown };
		if (store.pendingStructs || store.pendingDs) return false;
		for (const message of messagesMap(scratch).values()) {
			if (typeof message?.sentAt !== 'number' || !(message.sentAt >= floor)) return false;
		}
		return true;
	} catch {
		return false;
	} finally {
		scratch.destroy();
	}
}
